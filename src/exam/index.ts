import { createRouter } from "../platform/router";
import { profileRoutes } from "./profile.routes";

/** Exam-prep labs (spec 000), under /api/v1/exam. */
export const examRouter = createRouter().route("/", profileRoutes);

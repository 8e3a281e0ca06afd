import { defineSystem } from "../platform/system";

/** Exam-prep labs (spec 000), under /api/v1/exam. */
export const exam = defineSystem({
  name: "exam",
  title: "Exam-prep labs (spec 000)",
  docs: ["docs/exam.md", "docs/exam-events.md"],
  load: () => import("./parts").then((m) => m.parts),
});

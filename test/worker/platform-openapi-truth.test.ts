import { describe, expect, it } from "vitest";
import { call } from "./helpers";
import { OpenApiTruth, type OpenApiDocument } from "./openapi-truth";

/**
 * The check call() runs on every response of the suite (helpers.ts): shown here to refuse what the
 * document does not say, so a green suite means the document is true, not that nothing was checked.
 */
describe("the OpenAPI truth check", () => {
  it("refuses an undocumented status, an unlisted content type and a body off its schema", async () => {
    const truth = new OpenApiTruth((await call("GET", "/openapi.json")).body as OpenApiDocument);
    const profile = { id: crypto.randomUUID(), userId: crypto.randomUUID(), level: "BASIC", examDate: "2027-01-01", targetType: "PASS_FIRST", createdAt: new Date().toISOString(), updatedAt: new Date().toISOString() };
    const json = "application/json";

    expect(truth.mismatch("GET", "/api/v1/exam/profile", 200, json, profile)).toBeNull();
    expect(truth.mismatch("GET", "/api/v1/exam/profile", 418, json, profile)).toMatch(/status not listed/);
    expect(truth.mismatch("GET", "/api/v1/exam/profile", 200, "text/html", "<p>hi</p>")).toMatch(/content type text\/html not listed/);
    expect(truth.mismatch("GET", "/api/v1/exam/profile", 200, json, { ...profile, level: "EXPERT" })).toMatch(/does not match its schema/);
    expect(truth.mismatch("GET", "/api/v1/exam/profile", 200, json, { ...profile, createdAt: "yesterday" })).toMatch(/does not match its schema/);
    // Platform problems are documented on every route.
    const problem = { type: "https://errors.edge-api.dev/unauthenticated", title: "Unauthorized", status: 401, detail: "…", code: "unauthenticated", requestId: "r-12345678" };
    expect(truth.mismatch("GET", "/api/v1/hub/students", 401, "application/problem+json", problem)).toBeNull();
    expect(truth.mismatch("GET", "/api/v1/hub/students", 401, "application/problem+json", { status: 401 })).toMatch(/does not match its schema/);
    // Paths no operation describes are not judged here (404/405 of the router).
    expect(truth.mismatch("GET", "/api/v1/nowhere", 404, "application/problem+json", problem)).toBeNull();
  });
});

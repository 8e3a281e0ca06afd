import { describe, expect, it } from "vitest";
import { MAX_RENDERED_CHARS, parseTemplate, PromptRenderError, renderTemplate } from "../../src/factory/prompt-render";
import { abPoint, abWeightOf, assignAbGroup, localeChain, pickLocaleBody } from "../../src/factory/prompt-variant";

/** The error a render throws, so a test can look at its kind and variable. */
function renderError(fn: () => unknown): PromptRenderError {
  try {
    fn();
  } catch (error) {
    if (error instanceof PromptRenderError) return error;
    throw error;
  }
  throw new Error("expected a PromptRenderError");
}

const input = {
  input_data: { line_code: "L01", shift: "day", metrics: { defect_rate: 0.073, production_qty: 1500, oee: 0 } },
  context: { supervisor: "김철수" },
};

describe("prompt rendering (inside workerd: no eval, no new Function)", () => {
  it("fills dotted paths, numbers, zero and non-ASCII text verbatim", () => {
    expect(renderTemplate("라인 {{input_data.line_code}} / {{ input_data.metrics.defect_rate }} / {{input_data.metrics.oee}} / {{context.supervisor}}", input)).toBe(
      "라인 L01 / 0.073 / 0 / 김철수",
    );
  });

  it("renders the §7.2 example template", () => {
    const template = [
      "라인: {{input_data.line_code}}",
      "불량률: {{input_data.metrics.defect_rate}}%",
      "{{#if historical_data}}",
      "최근 7일 평균 불량률: {{historical_data.avg_defect_rate_7d}}%",
      "{{/if}}",
      "응답 형식: JSON",
    ].join("\n");
    expect(renderTemplate(template, input)).toBe("라인: L01\n불량률: 0.073%\n\n응답 형식: JSON");
    expect(renderTemplate(template, { ...input, historical_data: { avg_defect_rate_7d: 0.045 } })).toBe(
      "라인: L01\n불량률: 0.073%\n\n최근 7일 평균 불량률: 0.045%\n\n응답 형식: JSON",
    );
  });

  it("does not escape: the output is a prompt, not HTML", () => {
    expect(renderTemplate("{{a}}", { a: `<b>"x" & 'y'</b> {{not a tag}}` })).toBe(`<b>"x" & 'y'</b> {{not a tag}}`);
  });

  it("writes objects and lists as JSON, null as null, booleans as words", () => {
    expect(renderTemplate("{{m}} {{l}} {{n}} {{t}}", { m: { a: 1 }, l: [1, "x"], n: null, t: true })).toBe('{"a":1} [1,"x"] null true');
  });

  it("picks the then or else branch by truthiness; 0 is truthy, empty string/list, false and null are not", () => {
    const t = "{{#if v}}yes{{else}}no{{/if}}";
    const cases: [unknown, string][] = [[1, "yes"], [0, "yes"], ["x", "yes"], [[1], "yes"], [{}, "yes"], ["", "no"], [[], "no"], [false, "no"], [null, "no"]];
    for (const [v, expected] of cases) expect(renderTemplate(t, { v }), JSON.stringify(v)).toBe(expected);
    expect(renderTemplate(t, {})).toBe("no");
  });

  it("repeats an #each body with this, this.path and @index, nested lists included", () => {
    const data = {
      lines: [
        { code: "L01", alarms: ["E1", "E2"] },
        { code: "L02", alarms: [] },
      ],
      site: "S1",
    };
    const template = "{{#each lines}}[{{@index}} {{this.code}}@{{site}}:{{#each this.alarms}}{{@index}}={{this}};{{else}}none{{/each}}]{{/each}}";
    expect(renderTemplate(template, data)).toBe("[0 L01@S1:0=E1;1=E2;][1 L02@S1:none]");
  });

  it("renders an #each's else for a missing, null or empty list", () => {
    for (const items of [undefined, null, []]) expect(renderTemplate("{{#each items}}x{{else}}empty{{/each}}", { items })).toBe("empty");
  });

  it("refuses #each over something that is not a list, naming it", () => {
    const error = renderError(() => renderTemplate("{{#each input_data.metrics}}x{{/each}}", input));
    expect(error.kind).toBe("not_a_list");
    expect(error.variable).toBe("input_data.metrics");
  });

  it("names a missing variable used outside an #if, with its full path", () => {
    const error = renderError(() => renderTemplate("{{input_data.line_code}} {{input_data.metrics.scrap_rate}}", input));
    expect(error.kind).toBe("missing_variable");
    expect(error.variable).toBe("input_data.metrics.scrap_rate");
    expect(error.message).toContain("input_data.metrics.scrap_rate");
    expect(renderError(() => renderTemplate("{{#each l}}{{this.x}}{{/each}}", { l: [{ x: 1 }, {}] })).variable).toBe("this.x");
  });

  it("renders a hole inside an #if as empty: the author marked that data optional", () => {
    expect(renderTemplate("{{#if h}}avg={{h.avg}};{{/if}}", { h: { other: 1 } })).toBe("avg=;");
  });

  it("checks the declared required variables, after defaults, before rendering", () => {
    const variables = { required: ["input_data", "context"], optional: ["historical_data"], defaults: { tone: "professional" } };
    expect(renderTemplate("{{tone}} {{input_data.line_code}}", input, variables)).toBe("professional L01");
    const error = renderError(() => renderTemplate("no reference at all", { input_data: {} }, variables));
    expect(error).toMatchObject({ kind: "missing_variable", variable: "context" });
    expect(renderError(() => renderTemplate("x", { input_data: {}, context: null }, variables)).variable).toBe("context");
    expect(renderTemplate("{{tone}}", { ...input, tone: "brief" }, variables)).toBe("brief");
  });

  it("reads own properties only, never a prototype's", () => {
    for (const path of ["a.constructor", "a.__proto__", "a.toString", "a.length"]) {
      expect(renderError(() => renderTemplate(`{{${path}}}`, { a: "text" })).variable, path).toBe(path);
    }
    expect(renderTemplate("{{l.1}} {{l.length}}", { l: ["a", "b"] })).toBe("b 2");
    // JSON input can carry a "__proto__" key: it is data like any other.
    const data = JSON.parse('{"__proto__": {"polluted": "yes"}, "a": {"__proto__": "x"}}') as Record<string, unknown>;
    expect(renderTemplate("{{__proto__.polluted}} {{a.__proto__}}", data)).toBe("yes x");
    expect(renderError(() => renderTemplate("{{polluted}}", data)).variable).toBe("polluted");
  });

  it("refuses malformed templates with the tag's offset", () => {
    const cases: [string, number][] = [
      ["ok {{#if a}}never closed", 3],
      ["{{/if}}", 0],
      ["{{#if a}}{{/each}}", 9],
      ["{{else}}", 0],
      ["{{#if a}}x{{else}}y{{else}}z{{/if}}", 19],
      ["{{a b}}", 0],
      ["x {{this}}", 2],
      ["{{@index}}", 0],
      ["{{a..b}}", 0],
      ["{{{a}}}", 0],
      ["{{#unless a}}{{/unless}}", 0],
    ];
    for (const [template, position] of cases) {
      const error = renderError(() => parseTemplate(template));
      expect(error.kind, template).toBe("syntax");
      expect(error.position, template).toBe(position);
    }
  });

  it("renders a parsed tree again and again with different data", () => {
    const tree = parseTemplate("{{#each xs}}{{this}}{{/each}}");
    expect(renderTemplate(tree, { xs: [1, 2] })).toBe("12");
    expect(renderTemplate(tree, { xs: ["a"] })).toBe("a");
  });

  it("stops a runaway #each at the size cap", () => {
    const big = "x".repeat(1024);
    const list = Array.from({ length: 300 }, () => 0);
    expect(renderError(() => renderTemplate("{{#each l}}{{b}}{{/each}}", { l: list, b: big })).kind).toBe("too_large");
    expect(renderTemplate("{{#each l}}{{b}}{{/each}}", { l: list.slice(0, 200), b: big })).toHaveLength(200 * 1024);
    expect(MAX_RENDERED_CHARS).toBe(256 * 1024);
  });
});

describe("A/B group assignment", () => {
  const groups = [
    { group: "variant_a", weight: 1 },
    { group: "control", weight: 2 },
    { group: "variant_b", weight: 1 },
  ];
  const subject = (key: string) => ({ tenantId: "00000000-0000-0000-0000-000000000001", templateName: "defect_analysis", subjectKey: key });

  it("gives a subject the same group every time, whatever the candidates' order", async () => {
    for (let i = 0; i < 50; i++) {
      const a = await assignAbGroup(subject(`wf-${i}`), groups);
      const b = await assignAbGroup(subject(`wf-${i}`), [...groups].reverse());
      expect(a?.group).toBe(b?.group);
    }
  });

  it("depends on tenant, template name and subject, each", async () => {
    const base = await abPoint(subject("wf-1"));
    expect(await abPoint(subject("wf-1"))).toBe(base);
    expect(await abPoint({ ...subject("wf-1"), tenantId: "other" })).not.toBe(base);
    expect(await abPoint({ ...subject("wf-1"), templateName: "other" })).not.toBe(base);
    expect(await abPoint(subject("wf-2"))).not.toBe(base);
    // The separator keeps field boundaries: ("ab","c") is not ("a","bc").
    expect(await abPoint({ tenantId: "t", templateName: "ab", subjectKey: "c" })).not.toBe(await abPoint({ tenantId: "t", templateName: "a", subjectKey: "bc" }));
  });

  it("splits traffic by weight (1:2:1 over 8000 subjects, within 2 points)", async () => {
    const counts: Record<string, number> = { control: 0, variant_a: 0, variant_b: 0 };
    for (let i = 0; i < 8000; i++) {
      const group = (await assignAbGroup(subject(`subject-${i}`), groups))?.group ?? "none";
      counts[group] = (counts[group] ?? 0) + 1;
    }
    expect(Math.abs((counts.control ?? 0) / 8000 - 0.5)).toBeLessThan(0.02);
    expect(Math.abs((counts.variant_a ?? 0) / 8000 - 0.25)).toBeLessThan(0.02);
    expect(Math.abs((counts.variant_b ?? 0) / 8000 - 0.25)).toBeLessThan(0.02);
  });

  it("never picks a zero weight, and has no answer without a positive one", async () => {
    for (let i = 0; i < 200; i++) {
      expect((await assignAbGroup(subject(`s${i}`), [{ group: "control", weight: 1 }, { group: "off", weight: 0 }]))?.group).toBe("control");
    }
    expect(await assignAbGroup(subject("s"), [{ group: "off", weight: 0 }])).toBeNull();
    expect(await assignAbGroup(subject("s"), [])).toBeNull();
  });

  it("reads a version's weight from model_config.ab_weight, 1 by default", () => {
    expect(abWeightOf({ model: "gpt-4o", ab_weight: 3 })).toBe(3);
    expect(abWeightOf({ ab_weight: 0 })).toBe(0);
    expect(abWeightOf({ model: "gpt-4o" })).toBe(1);
    expect(abWeightOf({ ab_weight: -1 })).toBe(1);
    expect(abWeightOf({ ab_weight: "2" })).toBe(1);
    expect(abWeightOf(null)).toBe(1);
  });
});

describe("locale fallback", () => {
  const bodies = [
    { locale: "ko-KR", text: "ko" },
    { locale: "en-US", text: "en" },
    { locale: "ja-JP", text: "ja" },
  ];

  it("tries the requested locale, then the tenant's, then ko-KR", () => {
    expect(pickLocaleBody(bodies, "ja-JP", "en-US").body?.text).toBe("ja");
    expect(pickLocaleBody(bodies, "de-DE", "en-US")).toEqual({ body: bodies[1], tried: ["de-DE", "en-US", "ko-KR"] });
    expect(pickLocaleBody(bodies, "de-DE", "fr-FR")).toEqual({ body: bodies[0], tried: ["de-DE", "fr-FR", "ko-KR"] });
    expect(pickLocaleBody(bodies, null, undefined).body?.text).toBe("ko");
  });

  it("compares tags case-insensitively and tries each locale once", () => {
    expect(pickLocaleBody(bodies, "EN-us", null).body?.text).toBe("en");
    expect(localeChain("ko-kr", "KO-KR")).toEqual(["ko-kr"]);
  });

  it("names every locale it tried when none has a body", () => {
    expect(pickLocaleBody([{ locale: "en-US" }], "de-DE", "fr-FR")).toEqual({ body: null, tried: ["de-DE", "fr-FR", "ko-KR"] });
  });
});

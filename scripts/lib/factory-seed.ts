// The AI factory's development data (spec 003 §11.3), for `npm run db:seed`: never a migration, so
// no production database ever carries a demo tenant. Every insert names its natural key and skips
// rows that exist, so running it again changes nothing (and keeps what a developer edited).
import { compileVersion, scriptHash } from '../../src/factory/rule-engine';
import type { SqlExec } from './migrations';

export const DEMO_TENANT_ID = '00000000-0000-0000-0000-000000000001';
/** The demo admin's users.id: a token with this `sub` and `tenant_id` DEMO_TENANT_ID acts as them. */
export const DEMO_ADMIN_ID = '00000000-0000-0000-0000-000000000002';
/**
 * §11.3 seeds crypt('admin123', …). Sign-in belongs to the identity provider, so the seed stores
 * a value no password hashes to: crypt() output starts with `$`, this does not.
 */
export const UNUSABLE_PASSWORD_HASH = '!no-password: sign-in belongs to the identity provider';

/** §5.2's script as the document writes it. */
export const DEFECT_RATE_SCRIPT = `// defect_rate 판단 룰
fn judge_defect_rate(metrics, context) {
  let defect_rate = metrics.defect_rate;
  let target = context.target_defect_rate ?? 0.05;

  if defect_rate > target * 1.5 {
    #{
      result: "critical",
      confidence: 1.0,
      explanation: \`불량률 \${defect_rate}이 목표치 \${target}의 150% 초과\`,
      actions: ["alert_supervisor", "stop_line"]
    }
  } else if defect_rate > target * 1.2 {
    #{
      result: "warning",
      confidence: 0.9,
      explanation: \`불량률 \${defect_rate}이 목표치 \${target}의 120% 초과\`,
      actions: ["notify_operator"]
    }
  } else {
    #{
      result: "normal",
      confidence: 1.0,
      explanation: "불량률 정상 범위"
    }
  }
}
`;

export const JUDGMENT_SYSTEM_PROMPT = `당신은 제조 라인의 품질 판단 전문가입니다. 입력 데이터를 분석해 JSON 하나로만 답하세요:
{"result": "normal|warning|critical|unknown", "confidence": 0~1, "explanation": "판단 근거",
 "recommended_actions": [{"action_type": "alert|workflow|ticket", "priority": "low|medium|high|critical", "message": "..."}]}`;

/** §7.2's user_prompt_template example as the document writes it. */
export const JUDGMENT_USER_PROMPT = `# 생산 라인 불량률 분석

## 입력 데이터
라인: {{input_data.line_code}}
교대: {{input_data.shift}}
일자: {{input_data.date}}
불량률: {{input_data.metrics.defect_rate}}%
생산량: {{input_data.metrics.production_qty}}개

## 과거 데이터
{{#if historical_data}}
최근 7일 평균 불량률: {{historical_data.avg_defect_rate_7d}}%
목표 불량률: {{historical_data.target_defect_rate}}%
{{/if}}

## 분석 요청
1. 현재 불량률 상태 판단 (normal/warning/critical)
2. 근본 원인 분석
3. 권장 조치사항 제시
4. 신뢰도 점수 (0-1)

응답 형식: JSON`;

export interface SeedReport {
  tenant: string;
  admin: string;
  ruleset: string;
  promptTemplate: string;
  /** Rows this run inserted, by table (all 0 on a second run). */
  inserted: Record<string, number>;
}

/** Seeds the demo tenant, its admin, the §5.2 ruleset deployed active and a judgment prompt. */
export async function seedFactory(db: SqlExec): Promise<SeedReport> {
  const inserted: Record<string, number> = {};
  const run = async (table: string, text: string, params: unknown[]) => {
    const { rows } = await db.query<{ id: string }>(text, params);
    inserted[table] = (inserted[table] ?? 0) + rows.length;
  };
  await db.exec('begin');
  try {
    await run(
      'tenants',
      `insert into factory.tenants (id, name, display_name, settings, subscription_plan)
       values ($1, 'demo', 'Demo Tenant', '{"timezone": "Asia/Seoul", "locale": "ko-KR", "features_enabled": ["hybrid_judgment"]}', 'trial')
       on conflict do nothing returning id`,
      [DEMO_TENANT_ID],
    );
    await run(
      'users',
      `insert into factory.users (id, tenant_id, email, username, password_hash, role, permissions)
       values ($1, $2, 'admin@demo.com', 'admin', $3, 'admin', array['*:*'])
       on conflict do nothing returning id`,
      [DEMO_ADMIN_ID, DEMO_TENANT_ID, UNUSABLE_PASSWORD_HASH],
    );
    await run(
      'rulesets',
      `insert into factory.rulesets (tenant_id, name, description, target_kpi, category, is_active, metadata, created_by)
       values ($1, 'defect_rate', '§5.2 defect-rate rule', 'defect_rate', 'quality', true, '{}', $2)
       on conflict (tenant_id, name) do nothing returning id`,
      [DEMO_TENANT_ID, DEMO_ADMIN_ID],
    );
    const ruleset = await idOf(db, `select id from factory.rulesets where tenant_id = $1 and name = 'defect_rate'`, [DEMO_TENANT_ID]);
    // Compiled as the rule routes compile a new version (status, error, test_coverage).
    const compiled = compileVersion(DEFECT_RATE_SCRIPT);
    await run(
      'rule_scripts',
      `insert into factory.rule_scripts (ruleset_id, version, script, script_hash, compile_status, compile_error, test_coverage, created_by)
       values ($1, 1, $2, $3, $4, $5, $6, $7)
       on conflict (ruleset_id, version) do nothing returning id`,
      [ruleset, DEFECT_RATE_SCRIPT, await scriptHash(DEFECT_RATE_SCRIPT), compiled.compileStatus, compiled.compileError, compiled.testCoverage, DEMO_ADMIN_ID],
    );
    await run(
      'rule_deployments',
      `insert into factory.rule_deployments (tenant_id, ruleset_id, version, status, changelog, approver_id, approved_at, deployed_at)
       select $1, $2, 1, 'active', 'seed: §5.2 defect-rate rule', $3, now(), now()
       where not exists (select 1 from factory.rule_deployments where ruleset_id = $2 and version = 1)
       returning id`,
      [DEMO_TENANT_ID, ruleset, DEMO_ADMIN_ID],
    );
    await run(
      'prompt_templates',
      `insert into factory.prompt_templates (tenant_id, name, purpose, version, template_type, model_config, variables, is_active, created_by)
       values ($1, 'defect_judgment', 'judge a production line''s defect rate', 1, 'judgment',
               '{"model": "gpt-4o", "temperature": 0.3, "max_tokens": 2000}',
               '{"required": ["input_data"], "optional": ["historical_data"], "defaults": {}}', true, $2)
       on conflict (tenant_id, name, version) do nothing returning id`,
      [DEMO_TENANT_ID, DEMO_ADMIN_ID],
    );
    const template = await idOf(db, `select id from factory.prompt_templates where tenant_id = $1 and name = 'defect_judgment' and version = 1`, [DEMO_TENANT_ID]);
    await run(
      'prompt_template_bodies',
      `insert into factory.prompt_template_bodies (template_id, locale, system_prompt, user_prompt_template)
       values ($1, 'ko-KR', $2, $3)
       on conflict (template_id, locale) do nothing returning id`,
      [template, JUDGMENT_SYSTEM_PROMPT, JUDGMENT_USER_PROMPT],
    );
    await db.exec('commit');
    return { tenant: DEMO_TENANT_ID, admin: DEMO_ADMIN_ID, ruleset, promptTemplate: template, inserted };
  } catch (error) {
    await db.exec('rollback');
    throw error;
  }
}

async function idOf(db: SqlExec, text: string, params: unknown[]): Promise<string> {
  const { rows } = await db.query<{ id: string }>(text, params);
  if (!rows[0]) throw new Error(`seed: no row for ${text}`);
  return rows[0].id;
}

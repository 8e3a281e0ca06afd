import { sql } from "drizzle-orm";
import type { Classification } from "./chat-intents";
import { byName, type Reply } from "./chat-replies";

/**
 * run_workflow. The workflow engine is built on another branch, so the chat does not start a
 * workflow here: it finds the workflow the message names, records the request on the assistant
 * message (metadata.action: status `requested`, the workflow and the route that starts it) and
 * says that workflows are started through POST /workflows/{id}/execute. Once the engine is
 * merged, this is the one function to change so that the chat starts the instance itself.
 */
export function workflowRequest(c: Classification): Reply {
  const name = c.slots.workflow ?? "";
  const match = byName(sql`w.name`, name);
  const data = sql`(select jsonb_build_object('workflow', ${name}::text, 'status', 'requested', 'found', (
      select jsonb_build_object('id', w.id, 'name', w.name, 'version', w.version, 'is_active', w.is_active, 'execute', '/api/v1/factory/workflows/' || w.id || '/execute')
      from factory.workflows w where w.tenant_id = factory.caller_tenant() and ${name}::text <> '' and ${match.where} order by w.is_active desc, ${match.order} limit 1)))`;
  const found = (key: string) => sql`(d.data->'found'->>${key})`;
  const reply =
    c.lang === "ko"
      ? sql`case when d.data->'found' = 'null'::jsonb then format('"%s" 워크플로우를 찾지 못했습니다. 요청은 기록했습니다.', ${name}::text)
          else format('워크플로우 %s (버전 %s%s)의 실행 요청을 기록했습니다. 채팅은 워크플로우를 직접 시작하지 않습니다: POST %s 로 시작하세요.', ${found("name")}, ${found("version")}, case when ${found("is_active")}::boolean then '' else ', 비활성' end, ${found("execute")}) end`
      : sql`case when d.data->'found' = 'null'::jsonb then format('No workflow is named "%s". The request is recorded.', ${name}::text)
          else format('Recorded a request to run workflow %s (version %s%s). The chat does not start workflows itself: start it with POST %s.', ${found("name")}, ${found("version")}, case when ${found("is_active")}::boolean then '' else ', inactive' end, ${found("execute")}) end`;
  return { action: "run_workflow", data, reply };
}

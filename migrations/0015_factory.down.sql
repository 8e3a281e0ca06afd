-- Undo 0015_factory: drop the tables of spec 003 (their indexes, policies and triggers go with
-- them), children before parents, then the functions. Safe to re-run. No CASCADE: anything else
-- that came to depend on these makes this fail instead of dropping it.

-- squawk-ignore-file ban-drop-table
-- Dropping the tables is what rolling back their creation means; this only runs on purpose.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop table if exists factory.audit_logs;
drop table if exists factory.mcp_call_logs;
drop table if exists factory.mcp_tools;
drop table if exists factory.mcp_servers;
drop table if exists factory.data_connectors;
drop table if exists factory.chat_messages;
drop table if exists factory.intent_logs;
drop table if exists factory.chat_sessions;
drop table if exists factory.llm_calls;
drop table if exists factory.prompt_template_bodies;
drop table if exists factory.prompt_templates;
drop table if exists factory.model_training_jobs;
drop table if exists factory.auto_rule_candidates;
drop table if exists factory.learning_samples;
drop table if exists factory.feedbacks;
drop table if exists factory.rule_conflicts;
drop table if exists factory.rule_deployments;
drop table if exists factory.rule_scripts;
drop table if exists factory.rulesets;
drop table if exists factory.judgment_cache;
drop table if exists factory.judgment_executions;
drop table if exists factory.workflow_execution_logs;
drop table if exists factory.workflow_instances;
drop table if exists factory.workflow_steps;
drop table if exists factory.workflows;
drop table if exists factory.users;
drop table if exists factory.tenants;

drop function if exists factory.tenants_guard_update();
drop function if exists factory.json_patch(jsonb, jsonb, text);
drop function if exists factory.may_write(text[]);
drop function if exists factory.member_tenant();
drop function if exists factory.authorize(text);
drop function if exists factory.has_permission(text);
drop function if exists factory.caller_refusal(text);
drop function if exists factory.permission_granted(text[], text);
drop function if exists factory.role_permissions(text);
drop function if exists factory.caller_tenant();
drop function if exists factory.touch_updated_at();

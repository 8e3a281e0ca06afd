-- Issue 9, items 7 and 8: the monthly token reset, the hourly usage rollups and feedback
-- (docs/agent.md, "Quotas, rate limits and usage" and "Feedback"). Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- Addition: the UTC month current_month_tokens counts. The reset cron zeroes the counter only
-- where this is an earlier month and sets it in the same statement, so re-running the cron (or
-- two overlapping runs) never wipes tokens spent after the reset. Expand: nullable, then a
-- default for new organizations, then existing counters are marked as this month's.
alter table agent.organizations add column if not exists tokens_month date;
alter table agent.organizations alter column tokens_month set default (date_trunc('month', now() at time zone 'utc'))::date;
update agent.organizations set tokens_month = (date_trunc('month', now() at time zone 'utc'))::date where tokens_month is null;

-- Addition: one rollup row per organization, user (null: runs outside any session), metric and
-- hour, so the rollup job upserts instead of appending. usage_metrics is written only by that
-- job, which this migration introduces, so the table is empty and the build takes no time.
-- squawk-ignore require-concurrent-index-creation
create unique index if not exists usage_metrics_rollup_key
  on agent.usage_metrics (organization_id, user_id, metric_type, period_start) nulls not distinct;

-- Additions: the rollup job reads the last two hours of these by created_at every minute; without
-- these it would scan whole tables. Built in the file's transaction: the agent tables of issue 9
-- have no production rows before this part ships.
-- squawk-ignore require-concurrent-index-creation
create index if not exists idx_plans_created_at on agent.plans(created_at);
-- squawk-ignore require-concurrent-index-creation
create index if not exists idx_todos_created_at on agent.todos(created_at);
-- squawk-ignore require-concurrent-index-creation
create index if not exists idx_execution_results_created_at on agent.execution_results(created_at);

-- Feedback: the author and the organization's managers and admins read it (the aggregates per
-- plan are theirs); a member (not a viewer) writes only their own; nobody changes it afterwards.
-- Same rule as the routes (src/agent/feedback.routes.ts).
drop policy if exists feedback_read on agent.feedback;
create policy feedback_read on agent.feedback for select
  using (app.has_role('service')
         or (organization_id = agent.caller_org()
             and (user_id = app.user_id() or agent.caller_role() in ('admin', 'manager'))));
drop policy if exists feedback_write on agent.feedback;
drop policy if exists feedback_insert on agent.feedback;
create policy feedback_insert on agent.feedback for insert
  with check (app.has_role('service')
              or (organization_id = agent.caller_org() and user_id = app.user_id()
                  and agent.caller_role() <> 'viewer' and agent.caller_is_member()));
drop policy if exists feedback_service on agent.feedback;
create policy feedback_service on agent.feedback for all
  using (app.has_role('service')) with check (app.has_role('service'));

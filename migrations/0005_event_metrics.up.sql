-- 0005_event_metrics: where the Analytics Sink (docs/exam-events.md) keeps one row of operational
-- metrics per exam event when no Workers Analytics Engine dataset is bound; GET
-- /api/v1/exam/analytics/summary aggregates it for admins. A new table only.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- squawk-ignore-file prefer-bigint-over-int
-- score, runtime_ms and error_count copy the exam events' int fields (step_submissions columns).

create table if not exists exam.event_metrics (
  -- The event's id: one row per event, whatever the queue redelivers.
  event_id uuid primary key,
  event_type text not null,
  user_id uuid not null,
  entity_id text null,
  occurred_at timestamptz not null,
  mode text null,
  level text null,
  result text null,
  score int null,
  runtime_ms int null,
  error_count int null,
  recorded_at timestamptz not null default now()
);
-- The summary filters on a time range and groups by type.
create index if not exists idx_event_metrics_occurred_type on exam.event_metrics(occurred_at, event_type);

grant select, insert on exam.event_metrics to app_api;
alter table exam.event_metrics enable row level security;
alter table exam.event_metrics force row level security;

-- The sink writes as the event's actor (its service identity), so a row can only ever carry the
-- identity that wrote it; only admins read the metrics. No update or delete policy: rows are facts.
do $$
begin
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and tablename = 'event_metrics' and policyname = 'event_metrics_actor_insert') then
    create policy event_metrics_actor_insert on exam.event_metrics for insert
      with check (user_id = (select app.user_id()));
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and tablename = 'event_metrics' and policyname = 'event_metrics_admin_read') then
    create policy event_metrics_admin_read on exam.event_metrics for select
      using ((select app.user_id()) is not null and app.has_role('admin'));
  end if;
end
$$;

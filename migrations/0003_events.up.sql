-- 0003_events: the transactional outbox every system writes its domain events to (in the same
-- batch as the change), the consumers' dedupe ledger, and the exam mistake statistics that the
-- Mistake Aggregator keeps and the plan builder targets drills at (spec 000 §26). All additions
-- beyond the spec's DDL, so new tables only.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- squawk-ignore-file prefer-bigint-over-int
-- Counters here are per user and event: int is ample and matches the spec's other counters.

-- Not behind RLS: callers never read it through the API; only the relay does.
create table if not exists app.outbox_events (
  id uuid primary key,
  system text not null,
  event_type text not null,
  actor_id text null,
  entity_id text null,
  payload jsonb not null default '{}',
  occurred_at timestamptz not null default now(),
  -- Relay bookkeeping: a claim expires so a crashed relay's events are sent again (consumers dedupe).
  claimed_until timestamptz null,
  attempts int not null default 0,
  published_at timestamptz null
);
create index if not exists idx_outbox_events_unpublished on app.outbox_events(occurred_at) where published_at is null;

-- One row per (consumer, event) it has applied: what makes at-least-once delivery act once.
create table if not exists app.consumed_events (
  consumer text not null,
  event_id uuid not null,
  consumed_at timestamptz not null default now(),
  primary key (consumer, event_id)
);

grant select, insert, update, delete on app.outbox_events, app.consumed_events to app_api;

create table if not exists exam.mistake_stats (
  id uuid primary key,
  user_id uuid not null,
  error_code text not null,
  occurrences int not null default 0 check (occurrences >= 0),
  drills_completed int not null default 0 check (drills_completed >= 0),
  last_seen_at timestamptz null,
  last_drilled_at timestamptz null,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now(),
  unique (user_id, error_code)
);
create index if not exists idx_mistake_stats_user_occurrences on exam.mistake_stats(user_id, occurrences desc);

grant select, insert, update, delete on exam.mistake_stats to app_api;
alter table exam.mistake_stats enable row level security;
alter table exam.mistake_stats force row level security;

do $$
begin
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and tablename = 'mistake_stats' and policyname = 'mistake_stats_owner') then
    create policy mistake_stats_owner on exam.mistake_stats for all
      using (user_id = (select app.user_id()))
      with check (user_id = (select app.user_id()));
  end if;
  if not exists (select 1 from pg_catalog.pg_policies
                 where schemaname = 'exam' and tablename = 'mistake_stats' and policyname = 'mistake_stats_admin_read') then
    create policy mistake_stats_admin_read on exam.mistake_stats for select
      using ((select app.user_id()) is not null and app.has_role('admin'));
  end if;
end
$$;

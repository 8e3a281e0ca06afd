-- 0016_factory_rules: what rule deployments and conflict detection need beyond §5's DDL (issue 10
-- items 6 and 7; docs/factory-rules.md). Additions only; safe to re-run. Built in the file's
-- transaction: the rule tables of 0015 have no production rows before this part ships.

-- squawk-ignore-file require-concurrent-index-creation

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- Four eyes (§5.3): a deployment records who asked for it, and the approver must be someone else.
-- The routes refuse with a 403 naming the rule; the check makes the same rule hold in the database.
-- Rows that restore a version on rollback have no approver (that version was approved before).
alter table factory.rule_deployments add column if not exists requested_by uuid;
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'rule_deployments_requested_by_fkey') then
    alter table factory.rule_deployments
      add constraint rule_deployments_requested_by_fkey foreign key (requested_by) references factory.users(id) not valid;
    alter table factory.rule_deployments validate constraint rule_deployments_requested_by_fkey;
  end if;
  if not exists (select 1 from pg_constraint where conname = 'rule_deployments_four_eyes') then
    alter table factory.rule_deployments
      add constraint rule_deployments_four_eyes check (approver_id is null or requested_by is null or approver_id <> requested_by) not valid;
    alter table factory.rule_deployments validate constraint rule_deployments_four_eyes;
  end if;
end
$$;

-- At most one active and one canary deployment per ruleset: routing is then unambiguous, and two
-- approvals racing for the same slot end in a 409 for one of them instead of two live versions.
create unique index if not exists rule_deployments_one_active on factory.rule_deployments (ruleset_id) where status = 'active';
create unique index if not exists rule_deployments_one_canary on factory.rule_deployments (ruleset_id) where status = 'canary';

-- An output_conflict between two rulesets on the same target_kpi names the other ruleset (its
-- version is rule_version_2); null for conflicts within one ruleset.
alter table factory.rule_conflicts add column if not exists other_ruleset_id uuid;
do $$
begin
  if not exists (select 1 from pg_constraint where conname = 'rule_conflicts_other_ruleset_id_fkey') then
    alter table factory.rule_conflicts
      add constraint rule_conflicts_other_ruleset_id_fkey foreign key (other_ruleset_id) references factory.rulesets(id) not valid;
    alter table factory.rule_conflicts validate constraint rule_conflicts_other_ruleset_id_fkey;
  end if;
end
$$;

-- Detection runs on every new version and deployment and again when an event is redelivered: one
-- row per pair and type, so a finding already recorded (and perhaps resolved) is never repeated.
create unique index if not exists rule_conflicts_finding
  on factory.rule_conflicts (ruleset_id, other_ruleset_id, rule_version_1, rule_version_2, conflict_type) nulls not distinct;

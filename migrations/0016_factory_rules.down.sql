-- Undo 0016_factory_rules: no finding key, no other_ruleset_id, no one-live-version indexes, no
-- four-eyes columns. Safe to re-run, also after 0015's down removed the tables.

-- squawk-ignore-file ban-drop-column, require-concurrent-index-deletion
-- Dropping what 0016 added is what rolling it back means; a file runs in one transaction, where
-- CONCURRENTLY is impossible.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop index if exists factory.rule_conflicts_finding;
drop index if exists factory.rule_deployments_one_canary;
drop index if exists factory.rule_deployments_one_active;

do $$
begin
  if to_regclass('factory.rule_conflicts') is not null then
    alter table factory.rule_conflicts drop column if exists other_ruleset_id;
  end if;
  if to_regclass('factory.rule_deployments') is not null then
    alter table factory.rule_deployments drop constraint if exists rule_deployments_four_eyes;
    alter table factory.rule_deployments drop column if exists requested_by;
  end if;
end
$$;

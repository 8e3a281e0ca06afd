-- Undo 0009_classroom_org: the teachers' write policy checks what it checked in 0007 again,
-- then the helper goes. Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- ALTER POLICY has no IF EXISTS: only where 0007's policy is still there to restore.
do $$
begin
  if exists (select 1 from pg_catalog.pg_policies
             where schemaname = 'seedtest' and tablename = 'classroom' and policyname = 'classroom_teacher_write') then
    alter policy classroom_teacher_write on seedtest.classroom
      with check (seedtest.teaches_classroom(org_id, teacher_id));
  end if;
end $$;

drop function if exists seedtest.keeps_org(text, integer);

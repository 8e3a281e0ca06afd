-- 0009_classroom_org: a teacher may not put a classroom into another org (docs/seedtest.md):
-- neither move one there nor create one there as its teacher_id. The teachers' write policy now
-- also checks that an update keeps the stored org_id and that a new classroom is in no org or the
-- teacher's own. Admins still place classrooms anywhere (their own policy). The API refuses a move
-- first (403 naming json.orgId); a refused create is the policy's 42501 (403).

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- For a stored classroom `id` (an update): true when it keeps its org. For a new one (an insert):
-- true when `new_org` is no org or the caller's. STABLE: inside an UPDATE's WITH CHECK it reads the
-- statement's snapshot, i.e. the row as it was before the update. Runs as the caller, who must see
-- the row to update it at all.
create or replace function seedtest.keeps_org(id text, new_org integer) returns boolean
language sql stable
as $$
  select coalesce(
    (select c.org_id is not distinct from new_org from seedtest.classroom c where c.classroom_id = id),
    new_org is null or new_org = seedtest.caller_org()
  )
$$;

grant execute on function seedtest.keeps_org(text, integer) to app_api;

alter policy classroom_teacher_write on seedtest.classroom
  with check (seedtest.teaches_classroom(org_id, teacher_id) and seedtest.keeps_org(classroom_id, org_id));

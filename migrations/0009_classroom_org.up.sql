-- 0009_classroom_org: a teacher may not move a classroom to another org (docs/seedtest.md), so
-- the teachers' write policy now also checks that an update keeps the stored org_id. Admins
-- still move classrooms (their own policy). The API refuses the same change first (403 naming json.orgId).

set local lock_timeout = '5s';
set local statement_timeout = '60s';

-- True when no classroom `id` is stored yet (an insert) or the stored one has org `new_org`.
-- STABLE: inside an UPDATE's WITH CHECK it reads the statement's snapshot, i.e. the row as it
-- was before the update. Runs as the caller, who must see the row to update it at all.
create or replace function seedtest.keeps_org(id text, new_org integer) returns boolean
language sql stable
as $$
  select coalesce((select c.org_id is not distinct from new_org from seedtest.classroom c where c.classroom_id = id), true)
$$;

grant execute on function seedtest.keeps_org(text, integer) to app_api;

alter policy classroom_teacher_write on seedtest.classroom
  with check (seedtest.teaches_classroom(org_id, teacher_id) and seedtest.keeps_org(classroom_id, org_id));

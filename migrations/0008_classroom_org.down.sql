-- Undo 0008_classroom_org: the teachers' write policy checks what it checked in 0007 again,
-- then the helper goes. Safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

alter policy classroom_teacher_write on seedtest.classroom
  with check (seedtest.teaches_classroom(org_id, teacher_id));

drop function if exists seedtest.keeps_org(text, integer);

-- 0023_factory_approval_writes: an approver's write to workflows, in Postgres as in the code
-- (issue 11; docs/factory-workflows.md, "Approval"). 0018 let every holder of an approval
-- permission insert and update any workflow instance and execution log of the tenant, while the
-- code lets them do one thing: record a decision on a WAITING instance (approval:decide; the
-- approval route). Now 'workflow' writers alone insert instances and write logs, and an approver
-- updates only an instance that is WAITING and stays so. Policies only; safe to re-run.

set local lock_timeout = '5s';
set local statement_timeout = '60s';

drop policy if exists workflow_instances_create on factory.workflow_instances;
create policy workflow_instances_create on factory.workflow_instances for insert
  with check (app.has_role('service') or (tenant_id = (select factory.member_tenant()) and factory.may_write('workflow')));

drop policy if exists workflow_instances_update on factory.workflow_instances;
create policy workflow_instances_update on factory.workflow_instances for update
  using (app.has_role('service') or (tenant_id = (select factory.member_tenant())
         and (factory.may_write('workflow') or (status = 'WAITING' and factory.has_permission('approval:decide')))))
  with check (app.has_role('service') or (tenant_id = (select factory.member_tenant())
         and (factory.may_write('workflow') or (status = 'WAITING' and factory.has_permission('approval:decide')))));

drop policy if exists workflow_execution_logs_create on factory.workflow_execution_logs;
create policy workflow_execution_logs_create on factory.workflow_execution_logs for insert
  with check (app.has_role('service') or (exists (select 1 from factory.workflow_instances p where p.id = workflow_execution_logs.instance_id) and factory.may_write('workflow')));

drop policy if exists workflow_execution_logs_update on factory.workflow_execution_logs;
create policy workflow_execution_logs_update on factory.workflow_execution_logs for update
  using (app.has_role('service') or (exists (select 1 from factory.workflow_instances p where p.id = workflow_execution_logs.instance_id) and factory.may_write('workflow')))
  with check (app.has_role('service') or (exists (select 1 from factory.workflow_instances p where p.id = workflow_execution_logs.instance_id) and factory.may_write('workflow')));

import { fieldErrors, type FieldError } from "../platform/problem";
import { DEFAULT_PRIORITY, planDag, type PlannedTodo } from "./dag";
import { toolParamsChecker } from "./tool-params";

/** A plan's todos as a client sends them (POST …/plans), named by client keys. */
export interface TodoInput {
  key: string;
  title: string;
  description?: string;
  layer: string;
  priority?: number;
  toolName?: string;
  toolParams?: Record<string, unknown>;
  dependsOn?: string[];
  timeoutSeconds?: number;
  maxRetries?: number;
  requiresApproval?: boolean;
  inputData?: Record<string, unknown>;
}

/** Todos one plan may hold: the DAG rules stay linearithmic, but one batch writes them all. */
export const MAX_TODOS = 500;
/** One todo's tool_params as JSON, at most: parameters, not payloads (those belong in input_data or storage). */
export const MAX_TOOL_PARAMS_BYTES = 16 * 1024;

export interface ToolRow {
  name: string;
  parametersSchema: unknown;
  isActive: boolean | null;
}

/** A todo as stored: ids in place of keys, order and blocks computed. Also what a version's snapshot holds. */
export interface TodoRow {
  id: string;
  key: string;
  title: string;
  description: string | null;
  layer: string;
  priority: number;
  toolName: string | null;
  toolParams: Record<string, unknown>;
  dependsOn: string[];
  blocks: string[];
  dependsOnIds: string[];
  blocksIds: string[];
  executionOrder: number;
  timeoutSeconds: number;
  maxRetries: number;
  requiresApproval: boolean;
  inputData: Record<string, unknown> | null;
}

const encoder = new TextEncoder();

/** The tool names the todos call, once each. */
export const toolNamesOf = (todos: readonly TodoInput[]) => [...new Set(todos.flatMap((t) => (t.toolName ? [t.toolName] : [])))];

/**
 * Refuses the todo set (422 naming every fault: DAG, unknown or inactive tool, tool_params against
 * the tool's schema or over the size cap) or returns it planned: execution order and blocks.
 * `outside`: dependencies may name todos not given (an edit's kept todos; the database checks them).
 */
function checkedPlan(todos: readonly TodoInput[], tools: readonly ToolRow[], outside: boolean) {
  const dag = planDag(todos, "json.todos", { outside });
  if (!dag.ok) throw fieldErrors(dag.faults);
  const faults: FieldError[] = [];
  const byName = new Map(tools.map((t) => [t.name, t]));
  const checkers = new Map<string, ReturnType<typeof toolParamsChecker>>();
  todos.forEach((t, index) => {
    const size = encoder.encode(JSON.stringify(t.toolParams ?? {})).byteLength;
    if (size > MAX_TOOL_PARAMS_BYTES) {
      faults.push({ path: `json.todos.${index}.toolParams`, message: `todo "${t.key}": tool_params must be at most ${MAX_TOOL_PARAMS_BYTES} bytes as JSON (${size})` });
      return;
    }
    if (!t.toolName) return;
    const tool = byName.get(t.toolName);
    if (!tool || tool.isActive === false) {
      faults.push({ path: `json.todos.${index}.toolName`, message: `todo "${t.key}" calls ${tool ? "inactive" : "unknown"} tool "${t.toolName}"` });
      return;
    }
    let check = checkers.get(tool.name);
    if (!check) checkers.set(tool.name, (check = toolParamsChecker(tool)));
    faults.push(...check({ key: t.key, index, toolParams: t.toolParams }));
  });
  if (faults.length) throw fieldErrors(faults);
  return dag.todos.sort((a, b) => a.executionOrder - b.executionOrder);
}

/** A todo with the defaults filled in, as a version's snapshot holds it (less id, status and blocks). */
const proposedOf = (t: PlannedTodo<TodoInput>) => ({
  key: t.key,
  title: t.title,
  description: t.description ?? null,
  layer: t.layer,
  priority: t.priority ?? DEFAULT_PRIORITY,
  toolName: t.toolName ?? null,
  toolParams: t.toolParams ?? {},
  dependsOn: t.dependsOn,
  executionOrder: t.executionOrder,
  timeoutSeconds: t.timeoutSeconds ?? 300,
  maxRetries: t.maxRetries ?? 3,
  requiresApproval: t.requiresApproval ?? false,
  inputData: t.inputData ?? null,
});

export type ProposedTodo = ReturnType<typeof proposedOf>;

/** A new plan's todos (checkedPlan's rules), as stored: fresh ids in place of keys, in execution order. */
export function buildTodos(todos: readonly TodoInput[], tools: readonly ToolRow[]): TodoRow[] {
  const planned = checkedPlan(todos, tools, false);
  const ids = new Map(planned.map((t) => [t.key, crypto.randomUUID()]));
  return planned.map((t) => ({
    ...proposedOf(t),
    id: ids.get(t.key)!,
    blocks: t.blocks,
    dependsOnIds: t.dependsOn.map((k) => ids.get(k)!),
    blocksIds: t.blocks.map((k) => ids.get(k)!),
  }));
}

/**
 * An edit's todo set (checkedPlan's rules, every todo given checked as sent), in execution order
 * among themselves; the database places them after the kept completed todos (plan-edit-sql.ts).
 */
export const proposeTodos = (todos: readonly TodoInput[], tools: readonly ToolRow[]): ProposedTodo[] => checkedPlan(todos, tools, true).map(proposedOf);

/** A version's todos_snapshot entry: the todo by key (dependsOn and blocks as keys), with its id and status at that version. */
export const snapshotOf = (t: TodoRow, status = "pending") => ({
  key: t.key,
  id: t.id,
  status,
  title: t.title,
  description: t.description,
  layer: t.layer,
  priority: t.priority,
  toolName: t.toolName,
  toolParams: t.toolParams,
  dependsOn: t.dependsOn,
  blocks: t.blocks,
  executionOrder: t.executionOrder,
  timeoutSeconds: t.timeoutSeconds,
  maxRetries: t.maxRetries,
  requiresApproval: t.requiresApproval,
  inputData: t.inputData,
});

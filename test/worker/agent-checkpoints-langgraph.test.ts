import { AsyncLocalStorage } from "node:async_hooks";
import { AsyncLocalStorageProviderSingleton } from "@langchain/core/singletons";
import { Annotation, Command, END, interrupt, START, StateGraph } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import { httpSaver, owner } from "./agent-checkpoints-helpers";

// On Workers (nodejs_compat) LangGraph's web entry does not register AsyncLocalStorage by itself;
// interrupt() reads its run from there. A Worker running LangGraph does the same at startup.
AsyncLocalStorageProviderSingleton.initializeGlobalInstance(new AsyncLocalStorage());

/** A refund agent: it drafts a refund, a person approves or rejects it, then it is paid or dropped. */
const State = Annotation.Root({
  request: Annotation<string>(),
  amount: Annotation<number>(),
  decision: Annotation<string>(),
  log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
});

function refundGraph() {
  return new StateGraph(State)
    .addNode("draft", (s) => ({ amount: s.request.length * 10, log: [`drafted ${s.request.length * 10}`] }))
    .addNode("approve", (s) => {
      const answer = interrupt<{ question: string; amount: number }, { approved: boolean; by: string }>({ question: "approve this refund?", amount: s.amount });
      return { decision: answer.approved ? `approved by ${answer.by}` : `rejected by ${answer.by}`, log: ["reviewed"] };
    })
    .addNode("pay", (s) => ({ log: [s.decision.startsWith("approved") ? `paid ${s.amount}` : "nothing paid"] }))
    .addEdge(START, "draft")
    .addEdge("draft", "approve")
    .addEdge("approve", "pay")
    .addEdge("pay", END);
}

describe("a LangGraph.js StateGraph on the HTTP checkpointer, inside workerd", () => {
  it("runs to a human-approval interrupt, then resumes from a new saver instance with its state intact", async () => {
    const me = await owner();
    const config = { configurable: { thread_id: `refund-${crypto.randomUUID()}` } };

    const first = refundGraph().compile({ checkpointer: httpSaver(me.bearer) });
    const paused = await first.invoke({ request: "broken kettle" }, config);
    expect((paused as { __interrupt__?: { value: unknown }[] }).__interrupt__?.[0]?.value).toEqual({ question: "approve this refund?", amount: 130 });
    const waiting = await first.getState(config);
    expect(waiting.next).toEqual(["approve"]);

    // Another process, another saver instance: only the API holds the thread.
    const second = refundGraph().compile({ checkpointer: httpSaver(me.bearer) });
    expect((await second.getState(config)).values).toMatchObject({ request: "broken kettle", amount: 130, log: ["drafted 130"] });
    const done = await second.invoke(new Command({ resume: { approved: true, by: "dana" } }), config);
    expect(done).toMatchObject({ amount: 130, decision: "approved by dana", log: ["drafted 130", "reviewed", "paid 130"] });

    const history = [];
    for await (const snapshot of second.getStateHistory(config)) history.push(snapshot);
    expect(history.length).toBeGreaterThanOrEqual(4);
    expect(history[0]!.next).toEqual([]);

    // Someone else's token sees no such thread: the graph starts from nothing.
    const stranger = refundGraph().compile({ checkpointer: httpSaver((await owner()).bearer) });
    expect((await stranger.getState(config)).values).toEqual({});
  });
});

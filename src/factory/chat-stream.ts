/**
 * A chat turn as server-sent events (text/event-stream). The reply is made inside the turn's
 * statement, so the stream starts once the turn is stored: `intent` (what was understood),
 * `action` (what was done), the reply in `delta` events (a line each), `done` (the stored turn,
 * as the JSON answer carries it). Errors before that are ordinary problem responses.
 */

export interface SseEvent {
  event: string;
  data: unknown;
}

interface StoredTurn {
  session: unknown;
  intent: { id: string; predictedIntent: string; confidence: number | null; extractedSlots: unknown };
  userMessage: unknown;
  assistantMessage: { content: string; metadata: unknown };
}

export function turnEvents(turn: StoredTurn): SseEvent[] {
  const metadata = (turn.assistantMessage.metadata ?? {}) as Record<string, unknown>;
  const lines = turn.assistantMessage.content.split(/(?<=\n)/);
  return [
    { event: "intent", data: { id: turn.intent.id, intent: turn.intent.predictedIntent, confidence: turn.intent.confidence, slots: turn.intent.extractedSlots, classifiedBy: metadata.classified_by } },
    { event: "action", data: metadata.action ?? null },
    ...lines.map((text) => ({ event: "delta", data: { text } })),
    { event: "done", data: turn },
  ];
}

/** One event in the wire format: data is JSON on one line, so it never needs splitting. */
const frame = (e: SseEvent, id: number) => `id: ${id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;

export function sseResponse(events: SseEvent[]): Response {
  const encoder = new TextEncoder();
  let next = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const e = events[next];
      if (!e) return controller.close();
      controller.enqueue(encoder.encode(frame(e, next)));
      next += 1;
    },
  });
  return new Response(body, { status: 201, headers: { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache", "X-Accel-Buffering": "no" } });
}

// The provider's HTTP API: POST /infer adds a job for a client's input, GET /jobs/:id reports it. Every
// body is checked here, field by field, so a malformed request is a 400 that names what is wrong (never a
// 500, never a silently altered input), and a provider that cannot cover a bond says so instead of
// accepting work it would fail.
import type { Hex } from "viem";
import { quantizeInput } from "../circuits/compiler/engine.ts";
import type { ServedModel } from "../runtime/models.ts";
import { HttpError, type Route } from "../sdk/node/server.ts";
import { batchViewJson } from "./batch.ts";
import { QueueFullError, addJob, type Job, type OwnClaim, type ProviderContext } from "./step.ts";

const INFER_SHAPE = 'a JSON object {"model": name or modelId, "input": [numbers] or "quantized": ["integers"], "tag"?: string}';
const MAX_TAG = 256;

/** A value as an attacker sent it, short enough for an error message. */
const shown = (v: unknown): string => (typeof v === "number" ? String(v) : (JSON.stringify(v) ?? String(v)).slice(0, 80));

/**
 * Checks a POST /infer body against the served models and returns the model and its quantized input.
 * Float inputs must be finite and inside the model's input range (they are not clamped: a value outside
 * is a client error); quantized inputs must be integers that fit the model's input bit width.
 * Throws HttpError(400) naming the field, index and value.
 */
export function parseInferRequest(models: ReadonlyMap<Hex, ServedModel>, body: unknown): { model: ServedModel; values: bigint[]; tag: string } {
  if (typeof body !== "object" || body === null || Array.isArray(body)) throw new HttpError(400, `body must be ${INFER_SHAPE}`);
  const b = body as Record<string, unknown>;
  const served = [...models.values()];
  const names = served.map((m) => m.name).join(", ");
  if (typeof b.model !== "string") throw new HttpError(400, `model must be a string (a served model's name or modelId), got ${shown(b.model)}; served: ${names}`);
  const wanted = b.model;
  const model = served.find((m) => m.name === wanted || m.modelId === wanted.toLowerCase());
  if (!model) throw new HttpError(400, `unknown model ${JSON.stringify(wanted.slice(0, 80))}; served: ${names}`);
  if (b.tag !== undefined && (typeof b.tag !== "string" || b.tag.length > MAX_TAG)) throw new HttpError(400, `tag must be a string of at most ${MAX_TAG} characters`);
  const tag = (b.tag as string | undefined) ?? "";
  if (b.input !== undefined && b.quantized !== undefined) throw new HttpError(400, "give either `input` or `quantized`, not both");

  const q = model.pkg.quant;
  const n = model.pkg.manifest.inputLength;
  const field = Array.isArray(b.input) ? "input" : Array.isArray(b.quantized) ? "quantized" : undefined;
  if (!field) throw new HttpError(400, `body needs \`input\` (numbers) or \`quantized\` (integer strings): ${INFER_SHAPE}`);
  const raw = b[field] as unknown[];
  if (raw.length !== n) throw new HttpError(400, `${model.name}: ${field} has ${raw.length} values, expected ${n}`);

  if (field === "input") {
    const [lo, hi] = q.inputRange;
    raw.forEach((v, i) => {
      if (typeof v !== "number" || !Number.isFinite(v)) throw new HttpError(400, `input[${i}] = ${shown(v)} is not a finite number`);
      if (v < lo || v > hi) throw new HttpError(400, `input[${i}] = ${v} is outside ${model.name}'s input range [${lo}, ${hi}]`);
    });
    return { model, values: quantizeInput(q, raw as number[]), tag };
  }
  const lim = 1n << BigInt(q.inputBits - 1);
  const values = raw.map((v, i) => {
    const ok = (typeof v === "string" && /^-?\d{1,80}$/.test(v)) || (typeof v === "number" && Number.isSafeInteger(v));
    if (!ok) throw new HttpError(400, `quantized[${i}] = ${shown(v)} is not an integer (a decimal string or a safe integer)`);
    const x = BigInt(v as string | number);
    if (x < -lim || x >= lim) throw new HttpError(400, `quantized[${i}] = ${x} does not fit ${model.name}'s ${q.inputBits}-bit signed input`);
    return x;
  });
  return { model, values, tag };
}

/** A job as the API shows it: without the quantized input the client sent (its inputHash identifies it). */
function jobView(job: Job): Omit<Job, "values"> {
  const { values: _values, ...rest } = job;
  return rest;
}

/** The provider's routes, served next to /healthz and /metrics. */
export function providerRoutes(ctx: ProviderContext): Route[] {
  return [
    {
      method: "POST",
      path: "/infer",
      handler: ({ body }) => {
        const { model, values, tag } = parseInferRequest(ctx.models, body);
        // A job taken now would fail at submission: say why instead, and let the client go elsewhere.
        const funds = ctx.funds.state();
        if (funds && !funds.ok) {
          throw new HttpError(503, `this provider cannot cover a bond now (needs ${funds.need}, short ${funds.shortfall}); try later or another provider`);
        }
        try {
          return { status: 202, body: jobView(addJob(ctx, model.modelId, values, tag, { maxQueued: ctx.config.maxQueuedJobs })) };
        } catch (err) {
          if (err instanceof QueueFullError) throw new HttpError(429, err.shortMessage);
          throw err;
        }
      },
    },
    {
      method: "GET",
      path: "/jobs/:id",
      handler: ({ params }) => {
        const job = ctx.store.get<Job>(`job/${params.id}`);
        if (!job) throw new HttpError(404, `no job ${JSON.stringify(params.id!.slice(0, 200))}`);
        const claim = job.claimId ? ctx.store.get<OwnClaim>(`claim/${job.claimId}`) : undefined;
        // The salt of a request's answer stays secret until answerRequest reveals it: anyone who saw it could race the answer.
        const answer = job.answer ? { commitment: job.answer.commitment, bond: job.answer.bond } : undefined;
        return { status: 200, body: { ...jobView(job), answer, claim } };
      },
    },
    {
      method: "GET",
      path: "/batches/:root",
      // Public data (the leaves a challenger or a watcher checks against the root on chain), readable by any web
      // page such as the protocol page's leaf lookup; this server takes no cookies or credentials.
      handler: ({ params }) => ({ status: 200, json: batchViewJson(ctx.store, params.root!), headers: { "access-control-allow-origin": "*" } }),
    },
  ];
}

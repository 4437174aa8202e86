export const id = 72;
export const ids = [72];
export const modules = {

/***/ 4072:
/***/ ((__unused_webpack_module, __webpack_exports__, __webpack_require__) => {


// EXPORTS
__webpack_require__.d(__webpack_exports__, {
  runCli: () => (/* binding */ runCli)
});

// EXTERNAL MODULE: ./node_modules/commander/index.js + 6 modules
var commander = __webpack_require__(7375);
;// CONCATENATED MODULE: ./src/errors.ts
/**
 * An error the user can fix: bad input, an unreachable server, a missing file.
 * Entry points print its message alone, never a stack trace.
 */
class UserError extends Error {
    name = 'UserError';
}
/** `'<input>' must be <rule> but got '<value>'`, the one shape of every validation message. */
function errors_invalidInput(input, value, rule) {
    return new UserError(`'${input}' must be ${rule} but got '${String(value)}'`);
}
function errorMessage(error) {
    return error instanceof Error ? error.message : String(error);
}

;// CONCATENATED MODULE: ./src/sim/options.ts

/** A small GPU-served model: ~67 tokens/s alone, ~47 tokens/s each with 6 sequences batched. */
const DEFAULT_SIM_OPTIONS = {
    host: '127.0.0.1',
    port: 0,
    seed: 1,
    flavor: 'llamacpp',
    modelId: 'my-model',
    slots: 6,
    loadingMs: 0,
    prefillMsPerToken: 0.2,
    decodeMsPerToken: 15,
    batchSlowdownPerSeq: 0.08,
    outputTokensMean: 200,
    jitter: 0.05,
    runSpeedFactor: 1,
    slowdown: 1,
    prefillSlowdown: 1,
    decodeSlowdown: 1,
    timeScale: 1,
    errorRate: 0,
    errorStatus: 503,
    disconnectRate: 0,
    streamErrorRate: 0,
    apiKey: undefined
};
const positive = { integer: false, min: 0, max: Infinity, minInclusive: false };
const nonNegative = { integer: false, min: 0, max: Infinity, minInclusive: true };
const fraction = { integer: false, min: 0, max: 1, minInclusive: true };
/** The rule of every numeric option, shared by `startSimServer` and the CLI flags. */
const NUMERIC_RULES = {
    port: { integer: true, min: 0, max: 65535, minInclusive: true },
    seed: { integer: true, min: 0, max: 2 ** 32 - 1, minInclusive: true },
    slots: { integer: true, min: 1, max: 4096, minInclusive: true },
    loadingMs: nonNegative,
    prefillMsPerToken: nonNegative,
    decodeMsPerToken: nonNegative,
    batchSlowdownPerSeq: nonNegative,
    outputTokensMean: { integer: false, min: 1, max: 1_000_000, minInclusive: true },
    jitter: { integer: false, min: 0, max: 0.5, minInclusive: true },
    runSpeedFactor: positive,
    slowdown: positive,
    prefillSlowdown: positive,
    decodeSlowdown: positive,
    timeScale: positive,
    errorRate: fraction,
    disconnectRate: fraction,
    streamErrorRate: fraction
};
const ERROR_STATUSES = [429, 500, 503];
const FLAVORS = ['llamacpp', 'openai'];
/** Human wording of a rule, for `invalidInput`'s "must be <rule>". */
function describeRule(rule) {
    const kind = rule.integer ? 'an integer' : 'a number';
    const low = rule.minInclusive ? `>= ${rule.min}` : `> ${rule.min}`;
    return rule.max === Infinity ? `${kind} ${low}` : `${kind} ${low} and <= ${rule.max}`;
}
function satisfiesRule(value, rule) {
    if (!Number.isFinite(value))
        return false;
    if (rule.integer && !Number.isInteger(value))
        return false;
    const aboveMin = rule.minInclusive ? value >= rule.min : value > rule.min;
    return aboveMin && value <= rule.max;
}
/** Merges over the defaults and rejects impossible values, naming the option. */
function resolveSimOptions(partial = {}) {
    const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
    const options = { ...DEFAULT_SIM_OPTIONS, ...defined };
    for (const [key, rule] of Object.entries(NUMERIC_RULES)) {
        const value = options[key];
        if (typeof value !== 'number' || !satisfiesRule(value, rule)) {
            throw errors_invalidInput(key, value, describeRule(rule));
        }
    }
    if (!ERROR_STATUSES.includes(options.errorStatus)) {
        throw errors_invalidInput('errorStatus', options.errorStatus, `one of ${ERROR_STATUSES.join(', ')}`);
    }
    if (!FLAVORS.includes(options.flavor)) {
        throw errors_invalidInput('flavor', options.flavor, `one of ${FLAVORS.join(', ')}`);
    }
    return options;
}

// EXTERNAL MODULE: external "node:http"
var external_node_http_ = __webpack_require__(7067);
;// CONCATENATED MODULE: ./src/random.ts
/**
 * Seeded randomness shared by the simulated server, the open-loop arrivals and the gate's
 * bootstrap, so that the same seed always gives the same run, schedule and interval.
 */
/** mulberry32: small and fast, statistically good enough for noise, arrivals and resampling. */
function mulberry32(seed) {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}
/** Folds several numbers into one 32-bit seed (a murmur3-style mix). */
function mixSeeds(...parts) {
    let hash = 0x9e3779b9;
    for (const part of parts) {
        hash = Math.imul(hash ^ (part >>> 0), 0x85ebca6b);
        hash ^= hash >>> 13;
        hash = Math.imul(hash, 0xc2b2ae35);
        hash ^= hash >>> 16;
    }
    return hash >>> 0;
}
/** Standard normal draw (Box–Muller). */
function gaussian(rng) {
    const u = 1 - rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

;// CONCATENATED MODULE: ./src/dataset/tokens.ts
/** The k6 benchmark's pseudo-tokenizer: split on whitespace and `,'".?`. */
const PSEUDO_TOKEN_SEPARATOR = /[\s,'".?]/;
/** Pseudo-token count of a text, exactly as llama.cpp's k6 script counts it (empty pieces included). */
function countPseudoTokens(text) {
    return text.split(PSEUDO_TOKEN_SEPARATOR).length;
}

;// CONCATENATED MODULE: ./src/sim/model.ts
/**
 * The simulated server's pure side: seeded randomness, prompt accounting, output lengths and the
 * timing model of a continuously batching server. No I/O and no clock here.
 */


/** FNV-1a over UTF-16 code units: a stable 32-bit key of a prompt. */
function hashString(text) {
    let hash = 0x811c9dc5;
    for (let i = 0; i < text.length; i++) {
        hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    }
    return hash >>> 0;
}
/** A multiplicative noise factor around 1; clamped so a duration never turns negative. */
function jitterFactor(rng, jitter) {
    if (jitter === 0)
        return 1;
    return Math.max(0.2, 1 + jitter * gaussian(rng));
}
/** Spread of natural answer lengths: log-normal, like real chat answers (long right tail). */
const OUTPUT_LENGTH_SIGMA = 0.6;
/** A natural answer length whose mean is `mean` tokens. */
function naturalOutputTokens(rng, mean) {
    const mu = Math.log(mean) - (OUTPUT_LENGTH_SIGMA * OUTPUT_LENGTH_SIGMA) / 2;
    return Math.max(1, Math.round(Math.exp(mu + OUTPUT_LENGTH_SIGMA * gaussian(rng))));
}
/** Chat template tokens around each message (`<|im_start|>role\n ... <|im_end|>\n`). */
const TEMPLATE_TOKENS_PER_MESSAGE = 4;
/** The assistant turn opener the template appends. */
const TEMPLATE_TOKENS_REPLY = 3;
/** The text of a message's content: a string or OpenAI content parts. */
function messageText(content) {
    if (typeof content === 'string')
        return content;
    if (!Array.isArray(content))
        return '';
    return content
        .map(part => part && typeof part === 'object' && typeof part.text === 'string' ? part.text : '')
        .join(' ');
}
/** Prompt tokens as a server would count them: pseudo-tokens of each message plus the template. */
function countPromptTokens(messages) {
    const content = messages.reduce((sum, m) => sum + countPseudoTokens(messageText(m.content)), 0);
    return content + TEMPLATE_TOKENS_PER_MESSAGE * messages.length + TEMPLATE_TOKENS_REPLY;
}
/** One string keying a conversation, so the same prompt draws the same answer. */
function promptKey(messages) {
    return messages.map(m => `${String(m.role)}\u0000${messageText(m.content)}`).join('\u0001');
}
/** Simulated time to process the prompt. */
function prefillMs(knobs, promptTokens) {
    const factor = knobs.runSpeedFactor * knobs.slowdown * knobs.prefillSlowdown;
    return knobs.prefillMsPerToken * promptTokens * factor;
}
/** Simulated time of one decode step while `active` sequences share the batch. */
function decodeStepMs(knobs, active) {
    const batch = 1 + knobs.batchSlowdownPerSeq * Math.max(0, active - 1);
    const factor = knobs.runSpeedFactor * knobs.slowdown * knobs.decodeSlowdown;
    return knobs.decodeMsPerToken * batch * factor;
}
/**
 * Decides length, finish reason, noise and faults. The answer depends only on the prompt and the
 * request's `seed` (or the server seed when none), so two runs of a benchmark get the same answers
 * and differ only in timing; the timing and fault draws come from the server's own stream.
 */
function planCompletion(options, input, serverRng) {
    const answerSeed = mixSeeds(input.requestSeed ?? options.seed, hashString(promptKey(input.messages)));
    const answerRng = mulberry32(answerSeed);
    const natural = naturalOutputTokens(answerRng, options.outputTokensMean);
    const { outputTokens, finishReason } = answerLength(natural, input.maxTokens, input.ignoreEos);
    const requestJitter = jitterFactor(serverRng, options.jitter);
    const tokenJitterSeed = Math.floor(serverRng() * 2 ** 32);
    const fault = input.stream ? drawFault(options, outputTokens, serverRng) : null;
    return {
        promptTokens: countPromptTokens(input.messages),
        outputTokens,
        finishReason,
        textSeed: mixSeeds(answerSeed, 0x7e47),
        requestJitter,
        tokenJitterSeed,
        fault
    };
}
/** `max_tokens` cuts the natural answer (`length`); `ignore_eos` decodes up to it. */
function answerLength(natural, maxTokens, ignoreEos) {
    if (maxTokens === null)
        return { outputTokens: natural, finishReason: 'stop' };
    if (ignoreEos || maxTokens < natural)
        return { outputTokens: maxTokens, finishReason: 'length' };
    return { outputTokens: natural, finishReason: 'stop' };
}
function drawFault(options, outputTokens, rng) {
    const roll = rng();
    const afterTokens = Math.floor(rng() * outputTokens);
    if (roll < options.disconnectRate)
        return { kind: 'disconnect', afterTokens };
    if (roll < options.disconnectRate + options.streamErrorRate) {
        return { kind: 'stream-error', afterTokens };
    }
    return null;
}
const WORDS = ('the a of and to in is it that was for on with as he she they we you at be this have from ' +
    'one day little time there were said story cat dog bird park friend happy big sun tree ' +
    'model server token answer question because would could about after before water light ' +
    'house garden small very then when what which people world long first other new good').split(' ');
/** The answer's tokens: seeded words with a leading space, some punctuation, like real output. */
function answerTokens(textSeed, count) {
    const rng = mulberry32(textSeed);
    const tokens = [];
    for (let i = 0; i < count; i++) {
        const roll = rng();
        const word = WORDS[Math.floor(rng() * WORDS.length)];
        if (i > 0 && roll < 0.08)
            tokens.push('.');
        else if (i > 0 && roll < 0.13)
            tokens.push(',');
        else
            tokens.push(i === 0 ? capitalize(word) : ` ${word}`);
    }
    return tokens;
}
function capitalize(word) {
    return word.charAt(0).toUpperCase() + word.slice(1);
}


;// CONCATENATED MODULE: ./src/sim/request.ts
/** llama.cpp answers malformed JSON with 500 and nlohmann's message; vLLM with 400. */
function invalidJsonProblem(flavor, cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    return flavor === 'llamacpp'
        ? { status: 500, message: `[json.exception.parse_error.101] parse error: ${detail}` }
        : { status: 400, message: `JSON decode error: ${detail}` };
}
function parseCompletionRequest(flavor, body) {
    if (!isObject(body))
        return fail(400, 'the request body must be a JSON object');
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0 || !messages.every(isObject)) {
        return flavor === 'llamacpp' && messages === undefined
            ? fail(500, "[json.exception.out_of_range.403] key 'messages' not found")
            : fail(400, "'messages' must be a non-empty array of message objects");
    }
    const maxTokens = readMaxTokens(body.max_completion_tokens ?? body.max_tokens);
    if (maxTokens === undefined)
        return fail(400, "'max_tokens' must be a positive integer or -1");
    const streamOptions = isObject(body.stream_options) ? body.stream_options : {};
    return {
        ok: true,
        request: {
            messages: messages,
            model: typeof body.model === 'string' ? body.model : null,
            stream: body.stream === true,
            includeUsage: streamOptions.include_usage === true,
            maxTokens,
            seed: readSeed(body.seed),
            ignoreEos: body.ignore_eos === true
        }
    };
}
/** null = no limit (absent, null or llama.cpp's -1); undefined = invalid. */
function readMaxTokens(value) {
    if (value === undefined || value === null || value === -1)
        return null;
    return Number.isInteger(value) && value >= 1 ? value : undefined;
}
/** A usable seed, or null for none (absent or llama.cpp's -1 "random"). */
function readSeed(value) {
    return Number.isInteger(value) && value >= 0 ? value >>> 0 : null;
}
function isObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function fail(status, message) {
    return { ok: false, problem: { status, message } };
}

;// CONCATENATED MODULE: ./src/sim/responses.ts
/** What llama-server at the recorded commit reports (`--version` of a source build). */
const LLAMACPP_FINGERPRINT = 'b0-unknown';
function usageOf(promptTokens, completionTokens) {
    return {
        completion_tokens: completionTokens,
        prompt_tokens: promptTokens,
        total_tokens: promptTokens + completionTokens
    };
}
/** llama.cpp's `timings`, in simulated milliseconds (rounded to µs like the server's output). */
function llamaTimings(promptN, promptMs, predictedN, predictedMs) {
    const round = (ms) => Math.round(ms * 1000) / 1000;
    return {
        prompt_n: promptN,
        prompt_ms: round(promptMs),
        prompt_per_token_ms: promptN > 0 ? promptMs / promptN : 0,
        prompt_per_second: promptMs > 0 ? (1000 * promptN) / promptMs : 0,
        predicted_n: predictedN,
        predicted_ms: round(predictedMs),
        predicted_per_token_ms: predictedN > 0 ? predictedMs / predictedN : 0,
        predicted_per_second: predictedMs > 0 ? (1000 * predictedN) / predictedMs : 0
    };
}
function chunk(meta, delta, finishReason) {
    if (meta.flavor === 'llamacpp') {
        return {
            choices: [{ finish_reason: finishReason, index: 0, delta }],
            created: meta.created,
            id: meta.id,
            model: meta.model,
            system_fingerprint: LLAMACPP_FINGERPRINT,
            object: 'chat.completion.chunk'
        };
    }
    return {
        id: meta.id,
        object: 'chat.completion.chunk',
        created: meta.created,
        model: meta.model,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }]
    };
}
/** vLLM opens every stream with a role-only chunk; llama.cpp starts with content. */
function openingChunks(meta) {
    return meta.flavor === 'openai' ? [chunk(meta, { role: 'assistant', content: '' }, null)] : [];
}
function contentChunk(meta, text) {
    return chunk(meta, { content: text }, null);
}
/**
 * The chunks after the last token. llama.cpp puts usage and timings on the finish chunk (always,
 * as recorded, even without `include_usage`); vLLM sends usage in its own chunk with no choices,
 * only when asked.
 */
function closingChunks(meta, finishReason, usage, timings, includeUsage) {
    const finish = chunk(meta, {}, finishReason);
    if (meta.flavor === 'llamacpp')
        return [{ ...finish, usage, timings }];
    if (!includeUsage)
        return [finish];
    return [finish, { ...chunk(meta, {}, null), choices: [], usage }];
}
function completionObject(meta, content, finishReason, usage, timings) {
    const message = { role: 'assistant', content };
    if (meta.flavor === 'llamacpp') {
        return {
            choices: [{ finish_reason: finishReason, index: 0, message }],
            created: meta.created,
            model: meta.model,
            system_fingerprint: LLAMACPP_FINGERPRINT,
            object: 'chat.completion',
            usage,
            id: meta.id,
            timings
        };
    }
    return {
        id: meta.id,
        object: 'chat.completion',
        created: meta.created,
        model: meta.model,
        choices: [
            {
                index: 0,
                message: { ...message, tool_calls: [] },
                logprobs: null,
                finish_reason: finishReason,
                stop_reason: null
            }
        ],
        usage
    };
}
const LLAMACPP_ERROR_TYPES = {
    400: 'invalid_request_error',
    401: 'authentication_error',
    404: 'not_found_error',
    429: 'rate_limit_error',
    500: 'server_error',
    503: 'unavailable_error'
};
const OPENAI_ERROR_TYPES = {
    400: 'BadRequestError',
    401: 'AuthenticationError',
    404: 'NotFoundError',
    429: 'RateLimitError',
    500: 'InternalServerError',
    503: 'ServiceUnavailableError'
};
/** The error object itself (llama.cpp: `{code, message, type}`; vLLM adds `param`). */
function errorObject(flavor, status, message) {
    if (flavor === 'llamacpp') {
        return { code: status, message, type: LLAMACPP_ERROR_TYPES[status] ?? 'server_error' };
    }
    const type = OPENAI_ERROR_TYPES[status] ?? 'InternalServerError';
    return { message, type, param: null, code: status };
}
function errorBody(flavor, status, message) {
    return { error: errorObject(flavor, status, message) };
}
/**
 * An error inside a 200 stream. llama.cpp (recorded commit) sends an SSE `error:` field line with
 * the bare error object; vLLM sends it as a data event `{"error": {...}}` and then `[DONE]`.
 */
function streamErrorEvent(flavor, message) {
    if (flavor === 'llamacpp')
        return `error: ${JSON.stringify(errorObject(flavor, 500, message))}\n\n`;
    return sseData(errorBody(flavor, 500, message)) + SSE_DONE;
}
function modelsBody(flavor, modelId, created) {
    if (flavor === 'llamacpp') {
        return {
            object: 'list',
            data: [
                {
                    id: modelId,
                    object: 'model',
                    created,
                    owned_by: 'llamacpp',
                    meta: {
                        vocab_type: 1,
                        n_vocab: 32000,
                        n_ctx_train: 4096,
                        n_embd: 2048,
                        n_params: 1_100_048_384,
                        size: 2_200_119_296
                    }
                }
            ]
        };
    }
    return {
        object: 'list',
        data: [
            {
                id: modelId,
                object: 'model',
                created,
                owned_by: 'vllm',
                root: modelId,
                parent: null,
                max_model_len: 4096
            }
        ]
    };
}
function sseData(payload) {
    return `data: ${JSON.stringify(payload)}\n\n`;
}
const SSE_DONE = 'data: [DONE]\n\n';
/** Response headers of each family besides the content type. */
function flavorHeaders(flavor) {
    return flavor === 'llamacpp'
        ? { Server: 'llama.cpp', 'Access-Control-Allow-Origin': '' }
        : { server: 'uvicorn' };
}

// EXTERNAL MODULE: external "node:timers/promises"
var promises_ = __webpack_require__(8500);
;// CONCATENATED MODULE: ./src/sim/scheduler.ts
/** The server's clock-bound parts: slots with a FIFO queue, and the pacing of simulated time. */

/** A fixed number of slots; requests beyond them wait in arrival order. */
class SlotScheduler {
    slots;
    queue = [];
    active = 0;
    maxActive = 0;
    maxQueued = 0;
    constructor(slots) {
        this.slots = slots;
    }
    get queued() {
        return this.queue.length;
    }
    /** Resolves `true` with a slot held, or `false` when `signal` aborted first (no slot held). */
    acquire(signal) {
        if (signal.aborted)
            return Promise.resolve(false);
        if (this.active < this.slots && this.queue.length === 0) {
            this.take();
            return Promise.resolve(true);
        }
        return new Promise(resolve => {
            const waiter = {
                signal,
                grant: () => {
                    signal.removeEventListener('abort', waiter.onAbort);
                    this.take();
                    resolve(true);
                },
                onAbort: () => {
                    this.queue.splice(this.queue.indexOf(waiter), 1);
                    resolve(false);
                }
            };
            signal.addEventListener('abort', waiter.onAbort, { once: true });
            this.queue.push(waiter);
            this.maxQueued = Math.max(this.maxQueued, this.queue.length);
        });
    }
    release() {
        this.active--;
        const next = this.queue.shift();
        if (next)
            next.grant();
    }
    take() {
        this.active++;
        this.maxActive = Math.max(this.maxActive, this.active);
    }
}
/** Timers fire on whole milliseconds at best; shorter waits are owed and paid together. */
const MIN_SLEEP_MS = 1;
/**
 * Turns simulated durations into real waits for one sequence. It keeps an absolute real-time
 * deadline, so timer granularity and lateness never accumulate: waits under a millisecond are
 * carried over, and a late timer is made up by the next steps. Events are thus sent at their
 * accumulated times, several at once when they fall within the same millisecond.
 */
class Pacer {
    timeScale;
    now;
    deadline;
    constructor(timeScale, now = () => performance.now()) {
        this.timeScale = timeScale;
        this.now = now;
        this.deadline = now();
    }
    /** Waits until `simMs` more simulated time has passed; rejects when `signal` aborts. */
    async advance(simMs, signal) {
        this.deadline += simMs / this.timeScale;
        const wait = this.deadline - this.now();
        if (wait >= MIN_SLEEP_MS)
            await (0,promises_.setTimeout)(wait, undefined, { signal });
        else if (signal.aborted)
            throw signal.reason;
    }
}

;// CONCATENATED MODULE: ./src/sim/server.ts
/**
 * A simulated OpenAI-compatible inference server: continuous batching over a fixed number of slots,
 * prefill and decode times from the model in ./model.ts, llama.cpp or vLLM wire shapes, and fault
 * knobs. It is the default benchmark target, the test double, and the subject of the gate's
 * accuracy study, so every random draw is seeded.
 */







async function startSimServer(options = {}) {
    const resolved = resolveSimOptions(options);
    const state = createState(resolved);
    const server = (0,external_node_http_.createServer)((req, res) => {
        res.on('error', () => undefined);
        route(state, req, res).catch(error => sendInternalError(state, res, error));
    });
    const port = await listen(server, resolved.host, resolved.port);
    const host = resolved.host.includes(':') ? `[${resolved.host}]` : resolved.host;
    return {
        url: `http://${host}:${port}/v1`,
        port,
        options: resolved,
        close: () => closeServer(server, state),
        stats: () => snapshot(state)
    };
}
function createState(options) {
    return {
        options,
        scheduler: new SlotScheduler(options.slots),
        rng: mulberry32(mixSeeds(options.seed, 0x5e12)),
        readyAt: performance.now() + options.loadingMs / options.timeScale,
        shutdown: new AbortController(),
        counters: {
            requests: 0,
            completed: 0,
            errors: 0,
            disconnects: 0,
            streamErrors: 0,
            aborted: 0,
            promptTokens: 0,
            completionTokens: 0
        },
        requestCounter: 0
    };
}
function snapshot(state) {
    const { scheduler } = state;
    return {
        ...state.counters,
        active: scheduler.active,
        queued: scheduler.queued,
        maxActive: scheduler.maxActive,
        maxQueued: scheduler.maxQueued
    };
}
function listen(server, host, port) {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
            server.off('error', reject);
            resolve(server.address().port);
        });
    });
}
async function closeServer(server, state) {
    state.shutdown.abort(new Error('server closing'));
    const closed = new Promise(resolve => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
}
async function route(state, req, res) {
    const path = (req.url ?? '/').split('?')[0].replace(/\/+$/, '') || '/';
    const isCompletion = path === '/v1/chat/completions' || path === '/chat/completions';
    if (isCompletion)
        state.counters.requests++;
    if (req.method === 'GET' && (path === '/health' || path === '/v1/health')) {
        return isLoading(state) ? sendLoading(state, res) : sendJson(state, res, 200, { status: 'ok' });
    }
    if (!isAuthorized(state, req)) {
        return sendError(state, res, 401, 'Invalid API Key', isCompletion);
    }
    if (isLoading(state))
        return sendLoading(state, res, isCompletion);
    if (req.method === 'GET' && (path === '/v1/models' || path === '/models')) {
        const { flavor, modelId } = state.options;
        return sendJson(state, res, 200, modelsBody(flavor, modelId, nowSeconds()));
    }
    if (req.method === 'POST' && isCompletion)
        return handleCompletion(state, req, res);
    sendError(state, res, 404, 'File Not Found', false);
}
function isLoading(state) {
    return performance.now() < state.readyAt;
}
function isAuthorized(state, req) {
    const { apiKey } = state.options;
    return apiKey === undefined || req.headers.authorization === `Bearer ${apiKey}`;
}
async function handleCompletion(state, req, res) {
    const { flavor } = state.options;
    let body;
    try {
        body = JSON.parse(await readBody(req));
    }
    catch (error) {
        const problem = invalidJsonProblem(flavor, error);
        return sendError(state, res, problem.status, problem.message, true);
    }
    const parsed = parseCompletionRequest(flavor, body);
    if (!parsed.ok)
        return sendError(state, res, parsed.problem.status, parsed.problem.message, true);
    if (state.rng() < state.options.errorRate)
        return sendInjectedError(state, res);
    const plan = planCompletion(state.options, planInput(parsed.request), state.rng);
    await runCompletion(state, parsed.request, plan, res);
}
function planInput(request) {
    return {
        messages: request.messages,
        maxTokens: request.maxTokens,
        requestSeed: request.seed,
        ignoreEos: request.ignoreEos,
        stream: request.stream
    };
}
function sendInjectedError(state, res) {
    const status = state.options.errorStatus;
    const messages = {
        429: 'Too many requests',
        500: 'Internal server error',
        503: 'Service unavailable'
    };
    const headers = status === 429 ? { 'Retry-After': '1' } : {};
    sendError(state, res, status, `simulated error: ${messages[status]}`, true, headers);
}
/** Aborts when the client goes away before the response ends, or the server closes. */
function requestSignal(state, res) {
    const client = new AbortController();
    res.on('close', () => {
        if (!res.writableFinished)
            client.abort(new Error('client closed the connection'));
    });
    return AbortSignal.any([client.signal, state.shutdown.signal]);
}
async function runCompletion(state, request, plan, res) {
    const signal = requestSignal(state, res);
    const meta = completionMeta(state, request);
    if (request.stream)
        startStream(state, res);
    if (!(await state.scheduler.acquire(signal))) {
        state.counters.aborted++;
        return;
    }
    try {
        const sink = request.stream ? streamSink(state, res, meta) : null;
        const outcome = await generate(state, plan, signal, sink);
        finish(state, request, plan, meta, res, outcome);
    }
    catch (error) {
        if (!signal.aborted)
            throw error;
        state.counters.aborted++;
        res.destroy();
    }
    finally {
        state.scheduler.release();
    }
}
function completionMeta(state, request) {
    state.requestCounter++;
    const idRng = mulberry32(mixSeeds(state.options.seed, state.requestCounter, 0x1d));
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    const suffix = Array.from({ length: 32 }, () => alphabet[Math.floor(idRng() * 62)]).join('');
    return {
        flavor: state.options.flavor,
        id: `chatcmpl-${suffix}`,
        created: nowSeconds(),
        model: request.model ?? state.options.modelId
    };
}
/**
 * Prefill, then one decode step per token. Each step's length is recomputed from the number of
 * sequences active at that moment, so sequences joining or leaving the batch change the pace.
 */
async function generate(state, plan, signal, sink) {
    const { options, scheduler } = state;
    const pacer = new Pacer(options.timeScale);
    const tokenRng = mulberry32(plan.tokenJitterSeed);
    const tokens = answerTokens(plan.textSeed, plan.outputTokens);
    const promptMs = prefillMs(options, plan.promptTokens) * plan.requestJitter;
    await pacer.advance(promptMs, signal);
    let predictedMs = 0;
    for (let i = 0; i < tokens.length; i++) {
        const noise = plan.requestJitter * jitterFactor(tokenRng, options.jitter);
        const step = decodeStepMs(options, scheduler.active) * noise;
        predictedMs += step;
        await pacer.advance(step, signal);
        if (plan.fault && plan.fault.afterTokens === i) {
            return { kind: plan.fault.kind, tokens: tokens.slice(0, i), promptMs, predictedMs };
        }
        sink?.token(tokens[i], i);
    }
    return { kind: 'done', tokens, promptMs, predictedMs };
}
function startStream(state, res) {
    res.writeHead(200, {
        'Content-Type': 'text/event-stream',
        ...flavorHeaders(state.options.flavor)
    });
    res.flushHeaders();
}
function streamSink(state, res, meta) {
    return {
        token(text, index) {
            if (index === 0)
                openingChunks(meta).forEach(chunk => res.write(sseData(chunk)));
            res.write(sseData(contentChunk(meta, text)));
        }
    };
}
function finish(state, request, plan, meta, res, outcome) {
    const { counters, options } = state;
    if (outcome.kind === 'disconnect') {
        counters.errors++;
        counters.disconnects++;
        res.socket?.destroy();
        return;
    }
    if (outcome.kind === 'stream-error') {
        counters.errors++;
        counters.streamErrors++;
        res.end(streamErrorEvent(options.flavor, 'simulated error while generating'));
        return;
    }
    counters.completed++;
    counters.promptTokens += plan.promptTokens;
    counters.completionTokens += plan.outputTokens;
    const usage = usageOf(plan.promptTokens, plan.outputTokens);
    const timings = llamaTimings(plan.promptTokens, outcome.promptMs, plan.outputTokens, outcome.predictedMs);
    if (!request.stream) {
        const content = outcome.tokens.join('');
        return sendJson(state, res, 200, completionObject(meta, content, plan.finishReason, usage, timings));
    }
    const closing = closingChunks(meta, plan.finishReason, usage, timings, request.includeUsage);
    res.end(closing.map(sseData).join('') + SSE_DONE);
}
function readBody(req) {
    return new Promise((resolve, reject) => {
        const chunks = [];
        req.on('data', (chunk) => chunks.push(chunk));
        req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        req.on('error', reject);
    });
}
function sendJson(state, res, status, body, headers = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
        ...flavorHeaders(state.options.flavor),
        ...headers
    });
    res.end(text);
}
function sendError(state, res, status, message, countAsError, headers = {}) {
    if (countAsError)
        state.counters.errors++;
    sendJson(state, res, status, errorBody(state.options.flavor, status, message), headers);
}
function sendLoading(state, res, countAsError = false) {
    sendError(state, res, 503, 'Loading model', countAsError);
}
function sendInternalError(state, res, error) {
    if (res.headersSent) {
        res.destroy();
        return;
    }
    const message = error instanceof Error ? error.message : String(error);
    sendError(state, res, 500, message, true);
}
function nowSeconds() {
    return Math.floor(Date.now() / 1000);
}

;// CONCATENATED MODULE: ./src/sim/cli.ts



/** Each numeric flag, the option it sets and its help text. */
const NUMERIC_FLAGS = [
    { flag: 'port', option: 'port', value: 'port', help: 'port to listen on (0 = any free port)' },
    { flag: 'seed', option: 'seed', value: 'n', help: 'seed of every random draw' },
    { flag: 'slots', option: 'slots', value: 'n', help: 'sequences decoded together' },
    {
        flag: 'loading-ms',
        option: 'loadingMs',
        value: 'ms',
        help: 'answer 503 "Loading model" this long'
    },
    {
        flag: 'prefill-ms-per-token',
        option: 'prefillMsPerToken',
        value: 'ms',
        help: 'prefill time per prompt token'
    },
    {
        flag: 'decode-ms-per-token',
        option: 'decodeMsPerToken',
        value: 'ms',
        help: 'decode step of one sequence alone'
    },
    {
        flag: 'batch-slowdown',
        option: 'batchSlowdownPerSeq',
        value: 'fraction',
        help: 'decode step growth per extra active sequence'
    },
    {
        flag: 'output-tokens',
        option: 'outputTokensMean',
        value: 'n',
        help: 'mean natural answer length'
    },
    { flag: 'jitter', option: 'jitter', value: 'fraction', help: 'relative timing noise' },
    {
        flag: 'run-speed',
        option: 'runSpeedFactor',
        value: 'factor',
        help: 'multiplies every duration (runner speed)'
    },
    {
        flag: 'slowdown',
        option: 'slowdown',
        value: 'factor',
        help: 'multiplies every duration (inject a regression)'
    },
    {
        flag: 'prefill-slowdown',
        option: 'prefillSlowdown',
        value: 'factor',
        help: 'multiplies prefill durations'
    },
    {
        flag: 'decode-slowdown',
        option: 'decodeSlowdown',
        value: 'factor',
        help: 'multiplies decode durations'
    },
    {
        flag: 'time-scale',
        option: 'timeScale',
        value: 'factor',
        help: 'run this many times faster than real time'
    },
    {
        flag: 'error-rate',
        option: 'errorRate',
        value: 'fraction',
        help: 'requests answered with --error-status'
    },
    {
        flag: 'disconnect-rate',
        option: 'disconnectRate',
        value: 'fraction',
        help: 'streams cut mid-stream'
    },
    {
        flag: 'stream-error-rate',
        option: 'streamErrorRate',
        value: 'fraction',
        help: 'streams carrying an error event'
    }
];
/** Validates CLI flag values (camelCased, as commander names them) into server options. */
function parseSimOptions(raw) {
    const options = {};
    for (const { flag, option } of NUMERIC_FLAGS) {
        const value = raw[camelCase(flag)];
        if (value !== undefined)
            options[option] = parseNumber(`--${flag}`, value, option);
    }
    if (raw.host !== undefined)
        options.host = parseText('--host', raw.host);
    if (raw.model !== undefined)
        options.modelId = parseText('--model', raw.model);
    if (raw.apiKey !== undefined)
        options.apiKey = parseText('--api-key', raw.apiKey);
    if (raw.flavor !== undefined)
        options.flavor = parseFlavor(raw.flavor);
    if (raw.errorStatus !== undefined)
        options.errorStatus = parseErrorStatus(raw.errorStatus);
    return options;
}
function parseNumber(flag, value, option) {
    const rule = NUMERIC_RULES[option];
    const text = String(value).trim();
    const number = text === '' ? NaN : Number(text);
    if (!satisfiesRule(number, rule))
        throw errors_invalidInput(flag, value, describeRule(rule));
    return number;
}
function parseText(flag, value) {
    if (typeof value !== 'string' || value.trim() === '')
        throw errors_invalidInput(flag, value, 'a non-empty text');
    return value;
}
function parseFlavor(value) {
    const found = FLAVORS.find(flavor => flavor === value);
    if (!found)
        throw errors_invalidInput('--flavor', value, `one of ${FLAVORS.join(', ')}`);
    return found;
}
function parseErrorStatus(value) {
    const found = ERROR_STATUSES.find(status => String(status) === String(value).trim());
    if (!found)
        throw errors_invalidInput('--error-status', value, `one of ${ERROR_STATUSES.join(', ')}`);
    return found;
}
function camelCase(flag) {
    return flag.replace(/-([a-z])/g, (_, letter) => letter.toUpperCase());
}
const processIo = { write: text => void process.stdout.write(text) };
function addSimCommand(program, io = processIo) {
    const command = program
        .command('sim')
        .description('start the simulated OpenAI-compatible server (continuous batching, seeded)')
        .option('--host <host>', 'address to bind', '127.0.0.1')
        .option('--flavor <flavor>', `wire shapes: ${FLAVORS.join(' or ')}`, 'llamacpp')
        .option('--model <id>', 'model id the server reports')
        .option('--error-status <status>', `status of injected errors: ${ERROR_STATUSES.join(', ')}`)
        .option('--api-key <key>', 'require Authorization: Bearer <key>');
    // 8080 is llama-server's port and the default --server-url of `llm-bench run`.
    command.option('--port <port>', 'port to listen on (0 = any free port)', '8080');
    for (const { flag, value, help } of NUMERIC_FLAGS) {
        if (flag !== 'port')
            command.option(`--${flag} <${value}>`, help);
    }
    command.action(async (flags) => {
        await runSim(parseSimOptions(flags), io);
    });
}
/** Starts the server, says where, and keeps it up until the stop signal. */
async function runSim(options, io) {
    const server = await startSimServer(options);
    io.write(`simulated server listening on ${server.url}\n`);
    await (io.stopSignal ?? processStopSignal)();
    await stopServer(server, io);
}
async function stopServer(server, io) {
    await server.close();
    const { requests, completed, errors } = server.stats();
    io.write(`simulated server stopped after ${requests} requests (${completed} completed, ${errors} errors)\n`);
}
function processStopSignal() {
    return new Promise(resolve => {
        const stop = () => {
            process.off('SIGINT', stop);
            process.off('SIGTERM', stop);
            resolve();
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
    });
}

;// CONCATENATED MODULE: ./src/version.ts
/** The tool's version, written into every results file. Kept equal to package.json by a test. */
const TOOL_VERSION = '0.1.0';

;// CONCATENATED MODULE: ./src/metrics/catalog.ts
/** One entry per metric: the single source of names, units and directions. */
const METRICS = [
    {
        id: 'ttft',
        kind: 'distribution',
        title: 'Time to first token',
        unit: 'ms',
        direction: 'lower-is-better',
        k6: 'llamacpp_emit_first_token_second',
        definition: 'From sending the request to the first chunk that carries a token.'
    },
    {
        id: 'prompt_processing_rate',
        kind: 'distribution',
        title: 'Prompt processing rate',
        unit: 'tokens/s',
        direction: 'higher-is-better',
        k6: 'llamacpp_prompt_processing_second',
        definition: 'Prompt tokens divided by the time to first token.'
    },
    {
        id: 'decode_rate',
        kind: 'distribution',
        title: 'Decode rate',
        unit: 'tokens/s',
        direction: 'higher-is-better',
        k6: 'llamacpp_tokens_second',
        definition: 'Completion tokens divided by the time from the first token to the end of the stream.'
    },
    {
        id: 'tpot',
        kind: 'distribution',
        title: 'Time per output token',
        unit: 'ms',
        direction: 'lower-is-better',
        definition: 'Per request, from the first to the last token divided by the tokens after the first.'
    },
    {
        id: 'itl',
        kind: 'distribution',
        title: 'Inter-token latency',
        unit: 'ms',
        direction: 'lower-is-better',
        definition: 'Every gap between two consecutive token-bearing chunks, over all requests.'
    },
    {
        id: 'e2e_latency',
        kind: 'distribution',
        title: 'End-to-end latency',
        unit: 'ms',
        direction: 'lower-is-better',
        definition: 'From sending the request to the end of its stream.'
    },
    {
        id: 'prompt_tokens',
        kind: 'distribution',
        title: 'Prompt tokens',
        unit: 'tokens',
        direction: 'lower-is-better',
        k6: 'llamacpp_prompt_tokens',
        definition: 'Prompt tokens per request, as the server counted them (usage).'
    },
    {
        id: 'completion_tokens',
        kind: 'distribution',
        title: 'Completion tokens',
        unit: 'tokens',
        direction: 'higher-is-better',
        k6: 'llamacpp_completion_tokens',
        definition: 'Completion tokens per request (usage, or token-bearing chunks when the server sends none).'
    },
    {
        id: 'truncated_rate',
        kind: 'rate',
        title: 'Truncated rate',
        unit: 'ratio',
        direction: 'lower-is-better',
        k6: 'llamacpp_completions_truncated_rate',
        definition: 'Share of successful requests whose finish reason is `length`.'
    },
    {
        id: 'stop_rate',
        kind: 'rate',
        title: 'Stop rate',
        unit: 'ratio',
        direction: 'higher-is-better',
        k6: 'llamacpp_completions_stop_rate',
        definition: 'Share of successful requests whose finish reason is `stop`.'
    },
    {
        id: 'error_rate',
        kind: 'rate',
        title: 'Error rate',
        unit: 'ratio',
        direction: 'lower-is-better',
        definition: 'Share of measured requests that failed, whatever the error class.'
    },
    {
        id: 'requests_per_second',
        kind: 'throughput',
        title: 'Requests per second',
        unit: 'requests/s',
        direction: 'higher-is-better',
        definition: 'Successful requests divided by the measured window.'
    },
    {
        id: 'output_tokens_per_second',
        kind: 'throughput',
        title: 'Output tokens per second',
        unit: 'tokens/s',
        direction: 'higher-is-better',
        k6: 'llamacpp_completion_tokens_total_counter (rate)',
        definition: 'Completion tokens of successful requests divided by the measured window.'
    },
    {
        id: 'total_tokens_per_second',
        kind: 'throughput',
        title: 'Total tokens per second',
        unit: 'tokens/s',
        direction: 'higher-is-better',
        k6: 'llamacpp_prompt_tokens_total_counter + completion (rate)',
        definition: 'Prompt and completion tokens of successful requests divided by the measured window.'
    }
];
function metricDefinition(id) {
    return METRICS.find(metric => metric.id === id);
}

;// CONCATENATED MODULE: ./src/gate/thresholds.ts


/**
 * The gated set when the `thresholds` input is empty.
 *
 * Why these limits: the gate is meant to raise at most 1% false alarms on identical code while
 * catching ≥ 95% of 10% slowdowns. Two runs of the same code on shared CI runners differ by a few
 * percent (runner speed varies by ~3% from run to run), so a limit must sit above that spread and
 * well below 10%: 6% leaves ~2 standard deviations of the difference of two such runs on each
 * side (a 10% slowdown in time is a 9.1% drop in a rate, still beyond 6%). The significance test
 * and, once the baseline holds 5+ runs, the history's noise band remove most of the remaining
 * false alarms, so the limit only has to say what size of change matters.
 *
 * Why these metrics: medians of per-request figures move with a slowdown but barely with a few
 * slow outliers. The prompt processing rate and the decode rate divide by the token counts, so
 * they isolate prefill and decode speed from the mix of prompt lengths and are the most sensitive
 * to either slowdown; TTFT's median is what users feel. The end-to-end p95 watches the tail with
 * a looser 10% limit, since a p95 of a few hundred requests is itself noisy. Output tokens per
 * second is the capacity figure; it has no per-request samples and is judged once a history
 * exists. The error rate is absolute: one more failed request in a hundred fails the gate.
 */
const DEFAULT_THRESHOLDS = `# metric.statistic: limit (10% = relative, 0.01 = absolute in the metric's unit)
ttft.med: 6%
prompt_processing_rate.med: 6%
decode_rate.med: 6%
e2e_latency.p95: 10%
output_tokens_per_second: 6%
error_rate: 0.01`;
const STATISTICS = {
    avg: 'avg',
    mean: 'avg',
    min: 'min',
    med: 'med',
    median: 'med',
    max: 'max',
    p90: 'p90',
    p95: 'p95',
    p99: 'p99'
};
const LINE_SHAPE = "'metric.statistic: limit' (e.g. 'ttft.p95: 10%') or 'metric: limit' (e.g. 'error_rate: 0.01')";
function lineError(lineNumber, rule, line) {
    return new UserError(`'thresholds' line ${lineNumber} must be ${rule} but got '${line}'`);
}
function parseStat(definition, statText, lineNumber, line) {
    if (definition.kind !== 'distribution') {
        if (statText === undefined)
            return 'value';
        throw lineError(lineNumber, `'${definition.id}: limit' without a statistic (${definition.id} is a ${definition.kind})`, line);
    }
    const stat = statText === undefined ? undefined : STATISTICS[statText];
    if (stat === undefined) {
        const names = Object.keys(STATISTICS).join(', ');
        throw lineError(lineNumber, `'${definition.id}.statistic: limit' with a statistic of ${names}`, line);
    }
    return stat;
}
function parseLimit(definition, limitText, lineNumber, line) {
    const relative = limitText.endsWith('%');
    const numberText = relative ? limitText.slice(0, -1).trim() : limitText;
    const value = numberText === '' ? NaN : Number(numberText);
    if (!Number.isFinite(value) || value < 0) {
        throw lineError(lineNumber, `a limit of 0 or more, relative like '10%' or absolute like '0.01' (in ${definition.unit})`, line);
    }
    return relative ? { kind: 'relative', limit: value / 100 } : { kind: 'absolute', limit: value };
}
function parseLine(line, lineNumber) {
    const colon = line.indexOf(':');
    if (colon < 0)
        throw lineError(lineNumber, LINE_SHAPE, line);
    const name = line.slice(0, colon).trim();
    const limitText = line.slice(colon + 1).trim();
    const dot = name.indexOf('.');
    const metricText = dot < 0 ? name : name.slice(0, dot);
    const statText = dot < 0 ? undefined : name.slice(dot + 1);
    const definition = metricDefinition(metricText);
    if (!definition) {
        const ids = METRICS.map(metric => metric.id).join(', ');
        throw lineError(lineNumber, `${LINE_SHAPE} with a metric of ${ids}`, line);
    }
    const stat = parseStat(definition, statText, lineNumber, line);
    return { metric: definition.id, stat, ...parseLimit(definition, limitText, lineNumber, line) };
}
/**
 * One `metric.statistic: limit` per line (`metric: limit` for rates and throughputs); `#`
 * comments and blank lines are skipped. `mean` and `median` are accepted for `avg` and `med`.
 */
function parseThresholds(text) {
    const thresholds = [];
    const seenOnLine = new Map();
    text.split(/\r?\n/).forEach((raw, index) => {
        const line = raw.replace(/#.*$/, '').trim();
        if (line === '')
            return;
        const threshold = parseLine(line, index + 1);
        const key = `${threshold.metric}.${threshold.stat}`;
        const earlier = seenOnLine.get(key);
        if (earlier !== undefined) {
            throw lineError(index + 1, `a metric not already limited (line ${earlier} limits ${key})`, line);
        }
        seenOnLine.set(key, index + 1);
        thresholds.push(threshold);
    });
    return thresholds;
}
/** `ttft.p95` or `error_rate`: how a threshold's figure is named in reports. */
function thresholdName(threshold) {
    return threshold.stat === 'value' ? threshold.metric : `${threshold.metric}.${threshold.stat}`;
}

// EXTERNAL MODULE: external "node:fs/promises"
var external_node_fs_promises_ = __webpack_require__(1455);
;// CONCATENATED MODULE: ./src/engine/record.ts
/**
 * What the engine measures for one request. Times are milliseconds on the monotonic clock
 * (`performance.now()`), relative to the start of the run (`RunTimeline.startedAt`),
 * stamped when the bytes arrived.
 */
/** True when a request completed: 2xx, no error, a finish reason or `[DONE]`. */
function isSuccess(record) {
    return record.error === null;
}

// EXTERNAL MODULE: ./node_modules/simple-statistics/dist/simple-statistics.mjs
var simple_statistics = __webpack_require__(5521);
;// CONCATENATED MODULE: ./src/metrics/distribution.ts

/**
 * Percentiles use linear interpolation between the closest ranks (R's type 7, numpy's default,
 * simple-statistics' `quantileSorted`): the same method everywhere in the program, so a figure
 * in a summary, a baseline and a bootstrap resample means the same thing.
 */
const QUANTILES = { med: 0.5, p90: 0.9, p95: 0.95, p99: 0.99 };
const EMPTY_DISTRIBUTION = {
    n: 0,
    avg: null,
    min: null,
    med: null,
    max: null,
    p90: null,
    p95: null,
    p99: null
};
/** k6's statistics of `values`: avg, min, med, max, p90, p95, p99. Empty → n 0 and nulls. */
function distribution(values) {
    if (values.length === 0)
        return { ...EMPTY_DISTRIBUTION };
    const sorted = sortedCopy(values);
    return {
        n: sorted.length,
        avg: (0,simple_statistics/* mean */.RE)(sorted),
        min: sorted[0],
        med: (0,simple_statistics/* quantileSorted */.Z4)(sorted, QUANTILES.med),
        max: sorted[sorted.length - 1],
        p90: (0,simple_statistics/* quantileSorted */.Z4)(sorted, QUANTILES.p90),
        p95: (0,simple_statistics/* quantileSorted */.Z4)(sorted, QUANTILES.p95),
        p99: (0,simple_statistics/* quantileSorted */.Z4)(sorted, QUANTILES.p99)
    };
}
/**
 * One statistic of already sorted values (ascending, non-empty), by the same method as above.
 * Takes typed arrays too: the bootstrap sorts thousands of resamples, and typed arrays sort
 * numerically without a comparator, several times faster.
 */
function statOfSorted(sorted, stat) {
    // simple-statistics only indexes and sums, which any array-like supports
    const values = sorted;
    switch (stat) {
        case 'avg':
            return mean(values);
        case 'min':
            return values[0];
        case 'max':
            return values[values.length - 1];
        default:
            return quantileSorted(values, QUANTILES[stat]);
    }
}
function sortedCopy(values) {
    return [...values].sort((a, b) => a - b);
}

;// CONCATENATED MODULE: ./src/metrics/summary.ts


/**
 * The client counts as a bottleneck when its own event loop stalls long enough to delay the
 * timestamps it takes. A p99 lag above 20 ms is larger than a typical inter-token gap of a fast
 * server (10–30 ms), so token times would be visibly smeared; a single stall above 100 ms skews
 * a time to first token or an end-to-end latency by more than the noise the gate tolerates.
 */
const BOTTLENECK_LAG_P99_MS = 20;
const BOTTLENECK_LAG_MAX_MS = 100;
/** The error class of requests still running when the run ended: not the server's fault. */
const CUT_CLASS = 'cut-by-run-end';
/** The per-request figures of one request; the caller decides which requests count. */
function requestMetrics(record) {
    const ttft = record.firstTokenAt === null ? null : record.firstTokenAt - record.sentAt;
    return {
        ttft,
        prompt_processing_rate: promptProcessingRate(record.promptTokens, ttft),
        decode_rate: decodeRate(record),
        tpot: timePerOutputToken(record),
        e2e_latency: record.endAt - record.sentAt
    };
}
function promptProcessingRate(promptTokens, ttft) {
    if (promptTokens === null || ttft === null || ttft <= 0)
        return null;
    return promptTokens / (ttft / 1000);
}
function decodeRate(record) {
    if (record.completionTokens === null || record.firstTokenAt === null)
        return null;
    const decodeMs = record.endAt - record.firstTokenAt;
    return decodeMs > 0 ? record.completionTokens / (decodeMs / 1000) : null;
}
function timePerOutputToken(record) {
    const { completionTokens, firstTokenAt, lastTokenAt } = record;
    if (completionTokens === null || completionTokens <= 1)
        return null;
    if (firstTokenAt === null || lastTokenAt === null)
        return null;
    return (lastTokenAt - firstTokenAt) / (completionTokens - 1);
}
function present(values) {
    return values.filter((value) => value !== null);
}
function sum(values) {
    return values.reduce((total, value) => total + value, 0);
}
/** `count / total`, 0 when there is nothing to divide: a run with no successes has no truncations. */
function ratio(count, total) {
    return total > 0 ? count / total : 0;
}
/** First measured send to last measured end, ms; 0 without measured requests. */
function measuredWindowMs(measured) {
    if (measured.length === 0)
        return 0;
    // reduce, not Math.min(...spread): long runs have more requests than the call stack allows
    const start = measured.reduce((min, record) => Math.min(min, record.sentAt), Infinity);
    const end = measured.reduce((max, record) => Math.max(max, record.endAt), -Infinity);
    return Math.max(0, end - start);
}
function errorsByClass(failed) {
    const counts = {};
    for (const record of failed) {
        const errorClass = record.error?.class ?? 'unknown';
        counts[errorClass] = (counts[errorClass] ?? 0) + 1;
    }
    return counts;
}
/**
 * The run's summary. Only `phase: 'measured'` requests count; distributions, token totals and
 * throughputs are over the successful ones (no error).
 *
 * - Failures: every measured error except `cut-by-run-end`, which the run's end caused, not the
 *   server; those are counted in `requests.cut` and left out of the error rate's denominator:
 *   `error_rate = failed / (sent − cut)`.
 * - `truncated_rate` / `stop_rate`: finish reason `length` / `stop` among successes.
 * - ITL: every inter-token gap of every successful request.
 * - Throughputs: successful requests, their completion tokens, and their prompt + completion
 *   tokens, each divided by the window from the first measured send to the last measured end.
 * - Client: the distribution of `eventLoopLagMs`; `bottleneck` when its p99 or max is too high.
 */
function summarize(requests, eventLoopLagMs) {
    const measured = requests.filter(record => record.phase === 'measured');
    const successes = measured.filter(isSuccess);
    const cut = measured.filter(record => record.error?.class === CUT_CLASS);
    const failed = measured.filter(record => record.error !== null && record.error.class !== CUT_CLASS);
    const perRequest = successes.map(requestMetrics);
    const promptTokens = present(successes.map(record => record.promptTokens));
    const completionTokens = present(successes.map(record => record.completionTokens));
    const windowMs = measuredWindowMs(measured);
    const windowS = windowMs / 1000;
    const totals = {
        prompt_tokens: sum(promptTokens),
        completion_tokens: sum(completionTokens),
        completion_tokens_estimated: successes.some(record => record.completionTokensEstimated)
    };
    const lag = distribution(eventLoopLagMs);
    return {
        windowMs,
        requests: {
            sent: measured.length,
            succeeded: successes.length,
            failed: failed.length,
            errorsByClass: errorsByClass(failed),
            cut: cut.length
        },
        distributions: {
            ttft: distribution(present(perRequest.map(m => m.ttft))),
            prompt_processing_rate: distribution(present(perRequest.map(m => m.prompt_processing_rate))),
            decode_rate: distribution(present(perRequest.map(m => m.decode_rate))),
            tpot: distribution(present(perRequest.map(m => m.tpot))),
            itl: distribution(successes.flatMap(record => record.interTokenMs)),
            e2e_latency: distribution(present(perRequest.map(m => m.e2e_latency))),
            prompt_tokens: distribution(promptTokens),
            completion_tokens: distribution(completionTokens)
        },
        totals,
        rates: {
            truncated_rate: ratio(countFinish(successes, 'length'), successes.length),
            stop_rate: ratio(countFinish(successes, 'stop'), successes.length),
            error_rate: ratio(failed.length, measured.length - cut.length)
        },
        throughput: {
            requests_per_second: ratio(successes.length, windowS),
            output_tokens_per_second: ratio(totals.completion_tokens, windowS),
            total_tokens_per_second: ratio(totals.prompt_tokens + totals.completion_tokens, windowS)
        },
        client: {
            event_loop_lag: lag,
            bottleneck: (lag.p99 ?? 0) > BOTTLENECK_LAG_P99_MS || (lag.max ?? 0) > BOTTLENECK_LAG_MAX_MS
        }
    };
}
function countFinish(records, reason) {
    return records.filter(record => record.finishReason === reason).length;
}

;// CONCATENATED MODULE: ./src/results/schema.ts
const RESULTS_SCHEMA = 'llm-bench/results';
const RESULTS_SCHEMA_VERSION = 1;

;// CONCATENATED MODULE: ./src/baseline/store.ts




const BASELINE_SCHEMA = 'llm-bench/baseline';
const BASELINE_SCHEMA_VERSION = 1;
const SIGNIFICANT_DIGITS = 4;
function roundSignificant(value, digits = SIGNIFICANT_DIGITS) {
    return value === 0 || !Number.isFinite(value) ? value : Number(value.toPrecision(digits));
}
function roundedValues(values) {
    return values.filter((value) => value !== null).map(v => roundSignificant(v));
}
function meanGap(record) {
    const gaps = record.interTokenMs;
    return gaps.length === 0 ? null : gaps.reduce((total, gap) => total + gap, 0) / gaps.length;
}
/** The compact per-request samples of a run's successful measured requests. */
function baselineSamples(requests) {
    const measured = requests.filter(record => record.phase === 'measured');
    const successes = measured.filter(isSuccess);
    const perRequest = successes.map(requestMetrics);
    const cut = measured.filter(record => record.error?.class === 'cut-by-run-end').length;
    return {
        ttft: roundedValues(perRequest.map(m => m.ttft)),
        prompt_processing_rate: roundedValues(perRequest.map(m => m.prompt_processing_rate)),
        decode_rate: roundedValues(perRequest.map(m => m.decode_rate)),
        tpot: roundedValues(perRequest.map(m => m.tpot)),
        itl: roundedValues(successes.map(meanGap)),
        e2e_latency: roundedValues(perRequest.map(m => m.e2e_latency)),
        prompt_tokens: successes.flatMap(r => (r.promptTokens === null ? [] : [r.promptTokens])),
        completion_tokens: successes.flatMap(r => r.completionTokens === null ? [] : [r.completionTokens]),
        counts: {
            measured: measured.length,
            failed: measured.length - successes.length - cut,
            cut,
            succeeded: successes.length,
            truncated: countFinish(successes, 'length'),
            stopped: countFinish(successes, 'stop')
        }
    };
}
function baselineRunFromResults(results, meta) {
    return {
        commit: meta.commit,
        ref: meta.ref,
        date: results.startedAt,
        runner: results.runner,
        summary: results.summary,
        samples: baselineSamples(results.requests)
    };
}
/**
 * Adds `run` as the newest run and keeps the last `history` runs. A file made with other
 * settings (another fingerprint) is not comparable, so its history is dropped and a new one
 * starts with this run.
 */
function appendRun(file, name, fingerprint, run, history) {
    if (!Number.isInteger(history) || history < 1) {
        throw invalidInput('history', history, 'a whole number of runs, at least 1');
    }
    const sameSettings = file !== null && file.fingerprint.hash === fingerprint.hash;
    const previous = sameSettings ? file.runs : [];
    const note = file !== null && !sameSettings
        ? `The baseline '${file.name}' was made with other settings (fingerprint ` +
            `${file.fingerprint.hash}, now ${fingerprint.hash}): its ${file.runs.length} run(s) ` +
            `were dropped and a new history starts with this run.`
        : null;
    return {
        file: {
            schema: BASELINE_SCHEMA,
            schemaVersion: BASELINE_SCHEMA_VERSION,
            name,
            fingerprint,
            runs: [...previous, run].slice(-history)
        },
        note
    };
}
function store_isObject(value) {
    return value !== null && typeof value === 'object' && !Array.isArray(value);
}
function versionProblem(source, kind, found, supported) {
    if (found === supported)
        return null;
    if (typeof found !== 'number') {
        return new UserError(`${source}: the ${kind} file has no valid schemaVersion (got '${String(found)}')`);
    }
    return found > supported
        ? new UserError(`${source} is a ${kind} file of schema version ${found}, newer than this llm-bench ` +
            `reads (${supported}): upgrade llm-bench`)
        : new UserError(`${source} is a ${kind} file of schema version ${found}, older than this llm-bench ` +
            `reads (${supported}): delete it to start a new baseline, or compare with the ` +
            `llm-bench version that wrote it`);
}
function checkBaselineShape(value, source) {
    const fingerprint = value.fingerprint;
    const runs = value.runs;
    if (!store_isObject(fingerprint) || typeof fingerprint.hash !== 'string') {
        throw new UserError(`${source}: the baseline file has no settings fingerprint`);
    }
    const badRun = Array.isArray(runs)
        ? runs.findIndex(run => !store_isObject(run) || !store_isObject(run.summary) || !store_isObject(run.samples))
        : 0;
    if (!Array.isArray(runs) || badRun >= 0) {
        throw new UserError(`${source}: the baseline file's runs must be a list of runs with summary and samples` +
            (Array.isArray(runs) ? `, but run ${badRun + 1} is not` : ''));
    }
    return value;
}
/** Reads a baseline file or a results file, checking its schema and version. */
function parseBenchFile(text, source) {
    let value;
    try {
        value = JSON.parse(text);
    }
    catch (error) {
        throw new UserError(`${source} is not valid JSON: ${errorMessage(error)}`);
    }
    const schema = store_isObject(value) ? value.schema : undefined;
    if (!store_isObject(value) || (schema !== BASELINE_SCHEMA && schema !== RESULTS_SCHEMA)) {
        throw new UserError(`${source} must be an llm-bench baseline ('${BASELINE_SCHEMA}') or results ` +
            `('${RESULTS_SCHEMA}') file but its schema is '${String(schema)}'`);
    }
    if (schema === BASELINE_SCHEMA) {
        const problem = versionProblem(source, 'baseline', value.schemaVersion, BASELINE_SCHEMA_VERSION);
        if (problem)
            throw problem;
        return { kind: 'baseline', baseline: checkBaselineShape(value, source) };
    }
    const problem = versionProblem(source, 'results', value.schemaVersion, RESULTS_SCHEMA_VERSION);
    if (problem)
        throw problem;
    if (!Array.isArray(value.requests) || !store_isObject(value.summary) || !store_isObject(value.fingerprint)) {
        throw new UserError(`${source}: the results file lacks its requests, summary or fingerprint`);
    }
    return { kind: 'results', results: value };
}
/** A one-run baseline made of a results file, so a results file can serve as a baseline. */
function baselineFromResults(results, name) {
    return {
        schema: BASELINE_SCHEMA,
        schemaVersion: BASELINE_SCHEMA_VERSION,
        name,
        fingerprint: results.fingerprint,
        runs: [baselineRunFromResults(results, { commit: null, ref: null })]
    };
}
/**
 * Reads a baseline file, or a results file as a one-run baseline, so `baseline-file` and
 * `llm-bench compare` take either.
 */
function parseBaselineFile(text, source) {
    const file = parseBenchFile(text, source);
    return file.kind === 'baseline' ? file.baseline : baselineFromResults(file.results, source);
}
/** The newest run of a file and how it ended, as the gate's `current` input. */
function currentFromBenchFile(file) {
    if (file.kind === 'results') {
        const { results } = file;
        const run = baselineRunFromResults(results, { commit: null, ref: null });
        return { fingerprint: results.fingerprint, run, status: results.status, reason: results.reason };
    }
    const run = file.baseline.runs.at(-1);
    if (!run)
        throw new UserError(`The baseline '${file.baseline.name}' holds no run to compare`);
    return { fingerprint: file.baseline.fingerprint, run, status: 'completed', reason: null };
}

// EXTERNAL MODULE: external "node:crypto"
var external_node_crypto_ = __webpack_require__(7598);
;// CONCATENATED MODULE: ./src/baseline/fingerprint.ts

/**
 * What makes two runs comparable: the model, the prompts (the dataset's SHA-256, or its source
 * when unknown, and every filter), the token limit, the load shape and the request body.
 * Left out on purpose: where the server is and how we reach it (URL, API key, headers), timeouts,
 * readiness, cache directories and abort thresholds, which change neither the prompts nor the
 * load the server sees. Durations are in ms.
 */
function settingsFingerprint(settings, datasetSha256) {
    const { dataset, request, load } = settings;
    const sha = datasetSha256 ?? dataset.sha256 ?? null;
    const fields = {
        model: request.model,
        dataset: sha ? `sha256:${sha.toLowerCase()}` : dataset.source,
        'n-prompts': dataset.nPrompts,
        'min-turns': dataset.minTurns,
        'min-tokens': dataset.minTokens,
        'max-prompt-tokens': dataset.maxPromptTokens,
        'max-context': dataset.maxContext,
        'max-tokens': request.maxTokens,
        concurrency: load.concurrency,
        duration: load.durationMs,
        requests: load.requests,
        'think-time': load.thinkTimeMs,
        rate: load.rate,
        'arrival-seed': load.arrivalSeed,
        'warmup-requests': load.warmupRequests,
        'system-prompt': request.systemPrompt,
        stop: request.stop,
        seed: request.seed,
        'extra-body': canonicalize(request.extraBody)
    };
    return { hash: fingerprintHash(fields), fields };
}
function fingerprintHash(fields) {
    return (0,external_node_crypto_.createHash)('sha256').update(canonicalJson(fields)).digest('hex').slice(0, 16);
}
/** JSON with object keys sorted at every depth, so that key order never changes a hash. */
function canonicalJson(value) {
    return JSON.stringify(canonicalize(value));
}
function canonicalize(value) {
    if (Array.isArray(value))
        return value.map(canonicalize);
    if (value !== null && typeof value === 'object') {
        const entries = Object.entries(value)
            .filter(([, item]) => item !== undefined)
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        return Object.fromEntries(entries.map(([key, item]) => [key, canonicalize(item)]));
    }
    return value;
}
/** Long values (a system prompt) are cut so a difference stays one readable line. */
const MAX_SHOWN_CHARS = 60;
function shown(value) {
    if (value === undefined)
        return '(not set)';
    const text = typeof value === 'number' ? String(value) : canonicalJson(value);
    return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS - 1)}…` : text;
}
/** One line per field that differs, `"max-tokens: 512 → 256"`, in the order of `a` then `b`. */
function fingerprintDifferences(a, b) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    return keys
        .filter(key => canonicalJson(a[key] ?? null) !== canonicalJson(b[key] ?? null))
        .map(key => `${key}: ${shown(a[key])} → ${shown(b[key])}`);
}

;// CONCATENATED MODULE: ./src/gate/stats.ts



/** Standard normal CDF from simple-statistics' error function (absolute error < 1.2e-7). */
function normalCdf(z) {
    return 0.5 * (1 + (0,simple_statistics/* errorFunction */.T7)(z / Math.SQRT2));
}
/** Two-sided p-value of a standard normal statistic: P(|Z| ≥ |z|). */
function twoSidedP(z) {
    return Math.min(1, 1 - (0,simple_statistics/* errorFunction */.T7)(Math.abs(z) / Math.SQRT2));
}
/** Inverts a CDF that increases on [low, high] by bisection, to about 1e-12. */
function bisect(cdf, p, low, high) {
    for (let i = 0; i < 200 && high - low > 1e-12; i++) {
        const mid = (low + high) / 2;
        if (cdf(mid) < p)
            low = mid;
        else
            high = mid;
    }
    return (low + high) / 2;
}
/**
 * Normal quantile, by bisection of `normalCdf`: simple-statistics' `probit` is off by ~0.3% in
 * the tails (2.569 for 0.995 instead of 2.576), which would move every confidence bound.
 */
function normalQuantile(p) {
    if (!(p > 0 && p < 1))
        throw new RangeError(`normal quantile needs 0 < p < 1, got ${p}`);
    return bisect(normalCdf, p, -40, 40);
}
/**
 * Student's t CDF for a whole number of degrees of freedom, exact: the finite series of
 * Abramowitz & Stegun 26.7.3 (odd df) and 26.7.4 (even df) for P(|T| ≤ t).
 */
function studentTCdf(t, df) {
    if (!Number.isInteger(df) || df < 1)
        throw new RangeError(`t needs whole df ≥ 1, got ${df}`);
    const theta = Math.atan(Math.abs(t) / Math.sqrt(df));
    const cos2 = Math.cos(theta) ** 2;
    let central;
    if (df % 2 === 1) {
        let term = 1;
        let series = df > 1 ? 1 : 0;
        for (let k = 3; k <= df - 2; k += 2) {
            term *= ((k - 1) / k) * cos2;
            series += term;
        }
        central = (2 / Math.PI) * (theta + Math.sin(theta) * Math.cos(theta) * series);
    }
    else {
        let term = 1;
        let series = 1;
        for (let k = 2; k <= df - 2; k += 2) {
            term *= ((k - 1) / k) * cos2;
            series += term;
        }
        central = Math.sin(theta) * series;
    }
    return t >= 0 ? 0.5 + central / 2 : 0.5 - central / 2;
}
/** Student's t quantile for a whole number of degrees of freedom. */
function studentTQuantile(p, df) {
    if (!(p > 0 && p < 1))
        throw new RangeError(`t quantile needs 0 < p < 1, got ${p}`);
    if (p < 0.5)
        return -studentTQuantile(1 - p, df);
    let high = 1;
    while (studentTCdf(high, df) < p)
        high *= 2;
    return bisect(t => studentTCdf(t, df), p, 0, high);
}
/** Average ranks (1-based) of `values`, ties sharing the mean of their ranks, and Σ(t³ − t). */
function averageRanks(values) {
    const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
    const ranks = new Array(values.length);
    let tieSum = 0;
    for (let start = 0; start < order.length;) {
        let end = start;
        while (end + 1 < order.length && order[end + 1].value === order[start].value)
            end++;
        const tied = end - start + 1;
        for (let i = start; i <= end; i++)
            ranks[order[i].index] = (start + end) / 2 + 1;
        tieSum += tied ** 3 - tied;
        start = end + 1;
    }
    return { ranks, tieSum };
}
/**
 * Mann-Whitney U (Wilcoxon rank-sum) test of `a` against `b`, by the normal approximation with
 * the tie correction of the variance and a continuity correction of ½, as R's `wilcox.test(...,
 * exact = FALSE)` and scipy's `mannwhitneyu(..., method='asymptotic')`. `z > 0` when `a` tends to
 * be larger. The approximation is rough below about 8 values a side; the gate never decides on
 * fewer than its `minSamples` (20), where it is accurate. No variance (all values equal) or an
 * empty sample gives z 0 and p 1.
 */
function mannWhitneyU(a, b) {
    const n1 = a.length;
    const n2 = b.length;
    if (n1 === 0 || n2 === 0)
        return { u: 0, z: 0, pValue: 1 };
    const { ranks, tieSum } = averageRanks([...a, ...b]);
    const rankSumA = ranks.slice(0, n1).reduce((total, rank) => total + rank, 0);
    const u = rankSumA - (n1 * (n1 + 1)) / 2;
    const n = n1 + n2;
    const variance = ((n1 * n2) / 12) * (n + 1 - tieSum / (n * (n - 1)));
    if (variance <= 0)
        return { u, z: 0, pValue: 1 };
    const deviation = u - (n1 * n2) / 2;
    const corrected = Math.sign(deviation) * Math.max(0, Math.abs(deviation) - 0.5);
    const z = corrected / Math.sqrt(variance);
    return { u, z, pValue: twoSidedP(z) };
}
/**
 * Two-proportion z-test with the pooled proportion (R's `prop.test(..., correct = FALSE)`):
 * `x1` of `n1` against `x2` of `n2`; `z > 0` when the second proportion is larger. No
 * variance (both 0% or both 100%) or an empty sample gives z 0 and p 1.
 */
function twoProportionTest(x1, n1, x2, n2) {
    if (n1 <= 0 || n2 <= 0)
        return { z: 0, pValue: 1 };
    const pooled = (x1 + x2) / (n1 + n2);
    const standardError = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
    if (standardError === 0)
        return { z: 0, pValue: 1 };
    const z = (x2 / n2 - x1 / n1) / standardError;
    return { z, pValue: twoSidedP(z) };
}
const QUANTILE_OF = {
    med: 0.5,
    p90: 0.9,
    p95: 0.95,
    p99: 0.99
};
/** The value at order position `k` (0-based) of a resample given as counts over sorted values. */
function orderStatistic(sorted, counts, k) {
    let seen = 0;
    for (let j = 0; j < counts.length; j++) {
        seen += counts[j];
        if (seen > k)
            return sorted[j];
    }
    return sorted[sorted.length - 1];
}
/**
 * A statistic of one resample with replacement of `sorted`. The resample is kept as how often
 * each sorted value was drawn, so order statistics need one pass instead of a sort: thousands
 * of resamples of thousands of requests stay fast. Quantiles interpolate like `statOfSorted`.
 */
function resampleStat(sorted, counts, random, stat) {
    const n = sorted.length;
    counts.fill(0);
    for (let i = 0; i < n; i++)
        counts[Math.floor(random() * n)]++;
    if (stat === 'avg') {
        let total = 0;
        for (let j = 0; j < n; j++)
            total += counts[j] * sorted[j];
        return total / n;
    }
    if (stat === 'min')
        return orderStatistic(sorted, counts, 0);
    if (stat === 'max')
        return orderStatistic(sorted, counts, n - 1);
    const index = (n - 1) * QUANTILE_OF[stat];
    const lower = orderStatistic(sorted, counts, Math.floor(index));
    const upper = orderStatistic(sorted, counts, Math.ceil(index));
    return lower + (index - Math.floor(index)) * (upper - lower);
}
/**
 * Percentile bootstrap interval of `stat(current) / stat(base) − 1` at `confidence`: both samples
 * are resampled independently `resamples` times. Null when a sample is empty or the base
 * statistic is 0 in every resample.
 */
function bootstrapRelativeChangeCi(base, current, stat, confidence, seed, resamples = 1000) {
    if (base.length === 0 || current.length === 0)
        return null;
    // The same seed always gives the same interval.
    const random = mulberry32(seed);
    const baseSorted = sortedCopy(base);
    const currentSorted = sortedCopy(current);
    const baseCounts = new Uint32Array(base.length);
    const currentCounts = new Uint32Array(current.length);
    const changes = [];
    for (let i = 0; i < resamples; i++) {
        const baseStat = resampleStat(baseSorted, baseCounts, random, stat);
        const currentStat = resampleStat(currentSorted, currentCounts, random, stat);
        if (baseStat !== 0)
            changes.push(currentStat / baseStat - 1);
    }
    if (changes.length === 0)
        return null;
    const sorted = sortedCopy(changes);
    const tail = (1 - confidence) / 2;
    return [(0,simple_statistics/* quantileSorted */.Z4)(sorted, tail), (0,simple_statistics/* quantileSorted */.Z4)(sorted, 1 - tail)];
}

;// CONCATENATED MODULE: ./src/gate/compare.ts





const DEFAULT_CONFIDENCE = 0.99;
const DEFAULT_MIN_SAMPLES = 20;
/**
 * Why 5: the noise band's t quantile has n − 1 degrees of freedom, and at 99% it is 6.96 with
 * 3 runs (a band of about 8 standard deviations, which hides a 10% regression), 3.75 with 5.
 */
const DEFAULT_MIN_HISTORY_FOR_NOISE = 5;
/**
 * A fixed seed: the same two runs always get the same bootstrap interval. The bootstrap runs
 * for gated distributions only: a thousand resamples of a few thousand requests take a fraction
 * of a second per metric, too slow to spend on every reported one.
 */
const BOOTSTRAP_SEED = 1;
/** The figure of one metric in a run: a statistic of a distribution, a rate or a throughput. */
function runFigure(run, definition, stat) {
    const { summary } = run;
    if (definition.kind === 'distribution') {
        if (stat === 'value')
            return null;
        return summary.distributions[definition.id][stat];
    }
    if (definition.kind === 'rate')
        return summary.rates[definition.id];
    return summary.throughput[definition.id];
}
/** How much worse `current` is than `base`, positive when worse, in the metric's direction. */
function worseBy(definition, base, current) {
    return definition.direction === 'lower-is-better' ? current - base : base - current;
}
/** The change measured the way the limit is given: a fraction of the base, or in the unit. */
function worseByLimitUnit(threshold, definition, base, current) {
    const worse = worseBy(definition, base, current);
    if (threshold?.kind === 'absolute')
        return worse;
    return base === 0 ? (worse === 0 ? 0 : null) : worse / Math.abs(base);
}
function percent(fraction) {
    const text = `${Math.abs(fraction * 100).toFixed(1)}%`;
    return fraction < 0 ? `−${text}` : `+${text}`;
}
function signedNumber(value) {
    const text = String(Number(Math.abs(value).toPrecision(3)));
    return value < 0 ? `−${text}` : `+${text}`;
}
function limitText(threshold, definition) {
    if (threshold === null)
        return 'its baseline (not gated)';
    return threshold.kind === 'relative'
        ? `the ${Number((threshold.limit * 100).toPrecision(4))}% limit`
        : `the ${threshold.limit} ${definition.unit} limit`;
}
function changeText(comparison) {
    const { threshold, baseline, current, relativeChange } = comparison;
    if (threshold?.kind !== 'absolute' && relativeChange !== null)
        return percent(relativeChange);
    return baseline !== null && current !== null ? signedNumber(current - baseline) : 'n/a';
}
function pText(p) {
    return p < 0.0001 ? '< 0.0001' : `= ${Number(p.toPrecision(2))}`;
}
const RATE_COUNTS = {
    truncated_rate: counts => [counts.truncated, counts.succeeded],
    stop_rate: counts => [counts.stopped, counts.succeeded],
    error_rate: counts => [counts.failed, counts.measured - counts.cut]
};
function distributionTest(definition, stat, base, current, confidence, withCi) {
    const id = definition.id;
    const a = base.samples[id] ?? [];
    const b = current.samples[id] ?? [];
    const { z, pValue } = mannWhitneyU(b, a);
    const sign = definition.direction === 'lower-is-better' ? Math.sign(z) : -Math.sign(z);
    const ci = withCi ? bootstrapRelativeChangeCi(a, b, stat, confidence, BOOTSTRAP_SEED) : null;
    return { n: [a.length, b.length], pValue, worseSign: sign, ci };
}
/** Normal-approximation interval of the difference of two proportions, relative to the base. */
function rateCi(x1, n1, x2, n2, confidence) {
    const p1 = x1 / n1;
    const p2 = x2 / n2;
    if (!(p1 > 0) || n2 <= 0)
        return null;
    const se = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
    const z = normalQuantile((1 + confidence) / 2);
    return [(p2 - p1 - z * se) / p1, (p2 - p1 + z * se) / p1];
}
function rateTest(definition, base, current, confidence) {
    const counts = RATE_COUNTS[definition.id];
    const [x1, n1] = counts(base.samples.counts);
    const [x2, n2] = counts(current.samples.counts);
    const { z, pValue } = twoProportionTest(x1, n1, x2, n2);
    const sign = definition.direction === 'lower-is-better' ? Math.sign(z) : -Math.sign(z);
    return { n: [n1, n2], pValue, worseSign: sign, ci: rateCi(x1, n1, x2, n2, confidence) };
}
/**
 * The run-to-run spread of a figure over the base runs, as a one-sided prediction interval for
 * one more run of the same code at `confidence`; null with fewer than `minRuns` figures.
 */
function historyNoise(figures, confidence, minRuns) {
    if (figures.length < Math.max(2, minRuns))
        return null;
    const n = figures.length;
    const sd = (0,simple_statistics/* sampleStandardDeviation */.JK)(figures);
    const t = studentTQuantile(confidence, n - 1);
    return { runs: n, mean: (0,simple_statistics/* mean */.RE)(figures), sd, halfWidth: t * sd * Math.sqrt(1 + 1 / n) };
}
/** How far the current figure lies beyond the noise band, positive when outside on the worse side. */
function beyondNoise(definition, noise, current) {
    return worseBy(definition, noise.mean, current) - noise.halfWidth;
}
function beyondNoiseBetter(definition, noise, current) {
    return -worseBy(definition, noise.mean, current) - noise.halfWidth;
}
/**
 * The significance test's interval is of the change against the newest run; against the mean
 * of a short history the same sampling uncertainty is re-expressed: (1 + c) · newest / mean − 1.
 */
function rebase(ci, newest, reference) {
    if (ci === null || newest === null || reference === null || reference === 0)
        return ci;
    const factor = newest / reference;
    return [(1 + ci[0]) * factor - 1, (1 + ci[1]) * factor - 1];
}
function historyCi(relativeChange, noise, confidence) {
    if (relativeChange === null || noise === null || noise.mean === 0)
        return null;
    const t = studentTQuantile((1 + confidence) / 2, noise.runs - 1);
    const half = (t * noise.sd * Math.sqrt(1 + 1 / noise.runs)) / Math.abs(noise.mean);
    return [relativeChange - half, relativeChange + half];
}
function noiseText(noise) {
    const relative = noise.mean === 0 ? '' : ` (±${((noise.halfWidth / Math.abs(noise.mean)) * 100).toFixed(1)}%)`;
    return `the run-to-run noise of ${noise.runs} baseline runs${relative}`;
}
/**
 * One metric against the newest base run, or against the mean of the history once it holds
 * two runs. A change worse than its limit is a regression only when it is
 * also significant (rank test or proportion test against the newest run, in the worse
 * direction) and, with a history, outside the history's noise band. Throughputs have no
 * per-request samples: without a history they are judged by the limit alone and can at most
 * be inconclusive.
 */
function compareMetric(definition, stat, threshold, baseline, current, settings) {
    const newest = baseline.runs[baseline.runs.length - 1];
    const figures = baseline.runs
        .map(run => runFigure(run, definition, stat))
        .filter((f) => f !== null);
    const noise = historyNoise(figures, settings.confidence, settings.minHistoryForNoise);
    // With two base runs or more, the reference is their mean: one base run carries the whole
    // run-to-run noise of the runner (σ), the mean of n runs σ/√n, so the limit no longer hangs on
    // one run's luck.
    const newestFigure = runFigure(newest, definition, stat);
    const baseFigure = newestFigure !== null && figures.length >= 2 ? (0,simple_statistics/* mean */.RE)(figures) : newestFigure;
    const currentFigure = runFigure(current, definition, stat);
    const relativeChange = baseFigure !== null && currentFigure !== null && baseFigure !== 0
        ? currentFigure / baseFigure - 1
        : null;
    const partial = {
        metric: definition.id,
        stat,
        gated: threshold !== null,
        threshold,
        baseline: baseFigure,
        current: currentFigure,
        relativeChange,
        historyNoise: noise && noise.mean !== 0 ? noise.sd / Math.abs(noise.mean) : null
    };
    const name = thresholdName({ metric: definition.id, stat });
    const result = (verdict, explanation, test = null) => ({
        ...partial,
        // With a history, the interval of its run-to-run noise: a bootstrap of two runs' requests
        // knows nothing of the runner's speed, which all of a run's requests share.
        relativeChangeCi: noise !== null
            ? historyCi(relativeChange, noise, settings.confidence)
            : test
                ? rebase(test.ci, newestFigure, baseFigure)
                : null,
        pValue: test?.pValue ?? null,
        verdict,
        explanation
    });
    if (baseFigure === null || currentFigure === null) {
        return result('inconclusive', `${name}: no figure in the ${baseFigure === null ? 'baseline' : 'current run'}.`);
    }
    const change = changeText({ threshold, baseline: baseFigure, current: currentFigure, relativeChange }) +
        (figures.length >= 2 ? ` against the mean of ${figures.length} baseline runs` : '');
    const worse = worseByLimitUnit(threshold, definition, baseFigure, currentFigure);
    if (worse === null)
        return result('inconclusive', `${name}: the baseline is 0, so a relative change is undefined.`);
    const limit = threshold?.limit ?? 0;
    const isWorse = worse > limit;
    const isBetter = -worse > limit;
    const limitPhrase = limitText(threshold, definition);
    if (definition.kind === 'throughput') {
        if (!isWorse && !isBetter)
            return result('pass', `${name} ${change}: within ${limitPhrase}.`);
        if (noise === null) {
            return isWorse
                ? result('inconclusive', `${name} ${change} is worse than ${limitPhrase}, but a throughput has no per-request samples to test and the baseline holds ${figures.length} of the ${settings.minHistoryForNoise} runs needed to know its run-to-run noise.`)
                : result('pass', `${name} ${change} is better than ${limitPhrase}; without ${settings.minHistoryForNoise} baseline runs it cannot be told from noise.`);
        }
        if (isWorse) {
            return beyondNoise(definition, noise, currentFigure) > 0
                ? result('regression', `${name} ${change} is worse than ${limitPhrase} and outside ${noiseText(noise)}.`)
                : result('within-noise', `${name} ${change} is worse than ${limitPhrase} but within ${noiseText(noise)}.`);
        }
        return beyondNoiseBetter(definition, noise, currentFigure) > 0
            ? result('improvement', `${name} ${change} is better than ${limitPhrase} and outside ${noiseText(noise)}.`)
            : result('pass', `${name} ${change} is better than ${limitPhrase} but within ${noiseText(noise)}.`);
    }
    const test = definition.kind === 'distribution'
        ? distributionTest(definition, stat, newest, current, settings.confidence, threshold !== null && noise === null)
        : rateTest(definition, newest, current, settings.confidence);
    if (!isWorse && !isBetter)
        return result('pass', `${name} ${change}: within ${limitPhrase}.`, test);
    const [nBase, nCurrent] = test.n;
    if (Math.min(nBase, nCurrent) < settings.minSamples) {
        return result('inconclusive', `${name} ${change}: too few samples to decide (${nBase} in the baseline, ${nCurrent} now; ${settings.minSamples} needed in each).`, test);
    }
    const alpha = 1 - settings.confidence;
    const significant = test.pValue < alpha && test.worseSign === (isWorse ? 1 : -1);
    const testName = definition.kind === 'distribution' ? 'Mann-Whitney U' : 'two-proportion z';
    const pPhrase = `${testName} p ${pText(test.pValue)}`;
    if (isWorse) {
        if (!significant)
            return result('within-noise', `${name} ${change} is worse than ${limitPhrase} but not significant (${pPhrase}, needs < ${Number(alpha.toPrecision(3))}).`, test);
        if (noise && beyondNoise(definition, noise, currentFigure) <= 0) {
            return result('within-noise', `${name} ${change} is worse than ${limitPhrase} and significant (${pPhrase}) but within ${noiseText(noise)}.`, test);
        }
        const noisePart = noise ? ` and outside ${noiseText(noise)}` : '';
        return result('regression', `${name} ${change} is worse than ${limitPhrase} and significant (${pPhrase})${noisePart}.`, test);
    }
    if (significant && !(noise && beyondNoiseBetter(definition, noise, currentFigure) <= 0)) {
        return result('improvement', `${name} ${change} is better than ${limitPhrase} and significant (${pPhrase}).`, test);
    }
    return result('pass', `${name} ${change} is better than ${limitPhrase}, but not beyond the noise (${pPhrase}).`, test);
}
/** The gated thresholds, then every other catalog metric with its main statistic, not gated. */
function metricPlan(thresholds) {
    const gated = thresholds.map(threshold => ({
        definition: METRICS.find(metric => metric.id === threshold.metric),
        stat: threshold.stat,
        threshold
    }));
    const reported = METRICS.map(definition => ({
        definition,
        stat: (definition.kind === 'distribution' ? 'med' : 'value'),
        threshold: null
    })).filter(item => !thresholds.some(t => t.metric === item.definition.id && t.stat === item.stat));
    return [...gated, ...reported];
}
/** Figures of the current run alone, when there is nothing to compare them with. */
function uncompared(plan, run, baselineRun, why) {
    return plan.map(({ definition, stat, threshold }) => {
        const current = runFigure(run, definition, stat);
        const base = baselineRun ? runFigure(baselineRun, definition, stat) : null;
        return {
            metric: definition.id,
            stat,
            gated: threshold !== null,
            threshold,
            baseline: base,
            current,
            relativeChange: base !== null && current !== null && base !== 0 ? current / base - 1 : null,
            relativeChangeCi: null,
            pValue: null,
            historyNoise: null,
            verdict: 'inconclusive',
            explanation: why
        };
    });
}
const RUNNER_FIELDS = ['cpu', 'cores', 'gpu'];
function runnerWarnings(base, current) {
    const differences = RUNNER_FIELDS.filter(field => base.runner?.[field] !== current.runner?.[field]).map(field => `${field}: ${JSON.stringify(base.runner?.[field] ?? null)} → ${JSON.stringify(current.runner?.[field] ?? null)}`);
    return differences.length === 0
        ? []
        : [
            `The runner differs from the baseline's (${differences.join('; ')}): figures may differ for that reason alone.`
        ];
}
function clientWarnings(current) {
    return current.summary.client?.bottleneck
        ? ['The benchmarking client itself was busy (event-loop lag): its timings may be inflated.']
        : [];
}
function verdictReason(metrics) {
    const gated = metrics.filter(metric => metric.gated);
    const regressed = gated.filter(metric => metric.verdict === 'regression');
    if (regressed.length > 0) {
        const list = regressed
            .map(metric => `${thresholdName(metric)} ${changeText(metric)}`)
            .join(', ');
        const noun = regressed.length === 1 ? 'gated metric' : 'gated metrics';
        return { verdict: 'regression', reason: `${regressed.length} ${noun} regressed: ${list}` };
    }
    const counts = new Map();
    for (const metric of gated)
        counts.set(metric.verdict, (counts.get(metric.verdict) ?? 0) + 1);
    const tally = [...counts]
        .map(([verdict, count]) => `${count} ${verdict.replace('-', ' ')}`)
        .join(', ');
    return {
        verdict: 'pass',
        reason: gated.length === 0 ? 'No metric is gated.' : `No gated metric regressed: ${tally}.`
    };
}
/**
 * The gate's decision for the current run against a baseline history.
 *
 * In plain words: a run that did not complete fails. Without a baseline there is nothing to
 * compare and the run passes (`no-baseline`). A baseline made with other settings is
 * `not-comparable` and the differing settings are listed. Otherwise every gated metric is
 * compared with the newest baseline run or, once the baseline holds two runs or more, with the
 * mean of their figures, and it regresses only when all of these hold:
 * (a) it is worse than its limit (a share of that reference figure, or a difference in the
 * metric's unit); (b) the difference is statistically significant at `confidence`, in the worse
 * direction: a Mann-Whitney U test on the per-request values of both runs for distributions, a
 * two-proportion test for rates (throughputs have no per-request values and skip this test);
 * (c) once the baseline holds `minHistoryForNoise` runs or more, the current figure lies outside
 * the run-to-run noise of that history: the one-sided prediction interval
 * mean ± t(confidence, n − 1) · sd · √(1 + 1/n) of the base runs' figures, so a change of the
 * usual size between runs never fails. Too few samples make a metric inconclusive, never a
 * failure, and so does a worse throughput before there is a history to measure its noise. The
 * run's verdict is `regression` when any gated metric regressed, `pass` otherwise. Every other
 * catalog metric is reported with its main statistic (`med` for distributions), not gated.
 */
function compareRuns(baseline, current, options) {
    const settings = {
        confidence: options.confidence,
        minSamples: options.minSamples ?? DEFAULT_MIN_SAMPLES,
        minHistoryForNoise: options.minHistoryForNoise ?? DEFAULT_MIN_HISTORY_FOR_NOISE
    };
    const plan = metricPlan(options.thresholds);
    const newest = baseline?.runs.at(-1) ?? null;
    const base = {
        confidence: settings.confidence,
        baseline: baseline && newest
            ? { runs: baseline.runs.length, commit: newest.commit, ref: newest.ref, date: newest.date }
            : null,
        differences: [],
        warnings: clientWarnings(current.run)
    };
    const failed = current.status !== 'completed'
        ? `The run ${current.status === 'failed' ? 'failed' : `was ${current.status}`}${current.reason ? `: ${current.reason}` : '.'}`
        : null;
    if (!baseline || !newest) {
        return {
            ...base,
            verdict: failed ? 'failed' : 'no-baseline',
            reason: failed ?? 'No baseline to compare with yet: this run can become the first.',
            metrics: uncompared(plan, current.run, null, 'No baseline to compare with.')
        };
    }
    if (baseline.fingerprint.hash !== current.fingerprint.hash) {
        const differences = fingerprintDifferences(baseline.fingerprint.fields, current.fingerprint.fields);
        return {
            ...base,
            verdict: failed ? 'failed' : 'not-comparable',
            reason: failed ??
                `The baseline was made with other settings: ${differences.join('; ') || 'fingerprint ' + baseline.fingerprint.hash + ' → ' + current.fingerprint.hash}`,
            metrics: uncompared(plan, current.run, newest, 'Not compared: the baseline was made with other settings.'),
            differences
        };
    }
    const metrics = plan.map(({ definition, stat, threshold }) => compareMetric(definition, stat, threshold, baseline, current.run, settings));
    const warnings = [...runnerWarnings(newest, current.run), ...base.warnings];
    if (failed)
        return { ...base, warnings, verdict: 'failed', reason: failed, metrics };
    return { ...base, warnings, ...verdictReason(metrics), metrics };
}

;// CONCATENATED MODULE: ./src/gate/compare-files.ts




async function readText(path, role) {
    try {
        return await (0,external_node_fs_promises_.readFile)(path, 'utf8');
    }
    catch (error) {
        const code = error.code;
        const why = code === 'ENOENT' ? 'it does not exist' : errorMessage(error);
        throw new UserError(`Cannot read the ${role} file '${path}': ${why}`);
    }
}
/**
 * `llm-bench compare BASELINE CURRENT`: either file may be a baseline or a results file. The
 * current side is its results, or the newest run of a baseline file.
 */
async function compareFiles(baselinePath, currentPath, options) {
    const baseFile = parseBenchFile(await readText(baselinePath, 'baseline'), baselinePath);
    if (baseFile.kind === 'results' && baseFile.results.status !== 'completed') {
        // A failed run's figures describe the failure, not the server: every change would look good.
        const { status, reason } = baseFile.results;
        throw new UserError(`The baseline file '${baselinePath}' is a run that ${status === 'failed' ? 'failed' : `was ${status}`}` +
            ` (${reason ?? 'no reason given'}): compare against a completed run.`);
    }
    const currentFile = parseBenchFile(await readText(currentPath, 'current'), currentPath);
    const baseline = baseFile.kind === 'baseline'
        ? baseFile.baseline
        : baselineFromResults(baseFile.results, baselinePath);
    const comparison = compareRuns(baseline, currentFromBenchFile(currentFile), options);
    const current = currentFile.kind === 'baseline' ? currentFile.baseline : currentFile.results;
    return { comparison, baseline, current };
}

;// CONCATENATED MODULE: ./src/report/escape.ts
/**
 * Text we did not write — model names, error messages, fingerprints, dataset sources, all of
 * which a server or a dataset controls — must not be able to break a report: close a table
 * cell, open an HTML tag, mention a user, or flood the terminal with escape sequences.
 */
/** Longest stretch of foreign text a report shows; an error message can be megabytes. */
const DEFAULT_MAX_TEXT_LENGTH = 300;
const ELLIPSIS = '…';
/** Zero-width space: breaks `@user` and `#123` autolinks without changing what the reader sees. */
const ZERO_WIDTH_SPACE = '\u200B';
/**
 * Cuts text to at most `maxLength` characters (an ellipsis included), never inside a surrogate
 * pair, so an emoji at the cut does not become a broken character.
 */
function capLength(text, maxLength = DEFAULT_MAX_TEXT_LENGTH) {
    if (text.length <= maxLength)
        return text;
    if (maxLength <= 0)
        return '';
    let end = maxLength - ELLIPSIS.length;
    const code = text.charCodeAt(end - 1);
    if (code >= 0xd800 && code <= 0xdbff)
        end -= 1;
    return text.slice(0, Math.max(0, end)) + ELLIPSIS;
}
/**
 * One line of plain text: control characters (ANSI escapes, bells, carriage returns that
 * rewrite a terminal line) and line breaks become spaces, then the length is capped.
 * For the terminal and annotations, where Markdown means nothing.
 */
function sanitizeText(text, maxLength = DEFAULT_MAX_TEXT_LENGTH) {
    const oneLine = String(text ?? '')
        // C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
        // eslint-disable-next-line no-control-regex
        .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
        // Bidirectional overrides can make text read differently from what it is.
        .replace(/[\u202a-\u202e\u2066-\u2069]/g, '');
    return capLength(oneLine.trim(), maxLength);
}
/** Characters with a meaning in GitHub Markdown that a backslash turns back into text. */
const MARKDOWN_PUNCTUATION = /[\\`*_{}[\]()#+\-.!|~=:$]/g;
/**
 * Makes foreign text safe inline in GitHub Markdown, table cells included: one line, capped at
 * `maxLength`, Markdown punctuation backslash-escaped (`|` cannot close a cell, `` ` `` cannot
 * open code), `<`, `>` and `&` as entities (no HTML, no closing of a `<!-- -->` marker), and
 * `@user` / `#123` broken with a zero-width space so they notify no one and link nothing.
 */
function escapeMarkdown(text, maxLength = DEFAULT_MAX_TEXT_LENGTH) {
    return sanitizeText(text, maxLength)
        .replace(MARKDOWN_PUNCTUATION, character => `\\${character}`)
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/@(?=[\p{L}\p{N}_-])/gu, `@${ZERO_WIDTH_SPACE}`)
        .replace(/\\#(?=[\p{L}\p{N}])/gu, `\\#${ZERO_WIDTH_SPACE}`);
}
/**
 * Foreign text as an inline code span, for identifiers a reader may want to copy (hashes,
 * fingerprints): the fence is longer than any run of backticks inside, as CommonMark requires.
 * Line breaks are flattened and the length is capped; inside code nothing else is special,
 * except `|` in tables, which GitHub splits cells on even inside code, so it is escaped.
 */
function inlineCode(text, maxLength = DEFAULT_MAX_TEXT_LENGTH) {
    const content = sanitizeText(text, maxLength).replace(/\|/g, '\\|');
    if (content === '')
        return '';
    const longestRun = Math.max(0, ...(content.match(/`+/g) ?? []).map(run => run.length));
    const fence = '`'.repeat(longestRun + 1);
    // A space keeps a leading or trailing backtick from joining the fence.
    const padded = content.startsWith('`') || content.endsWith('`') ? ` ${content} ` : content;
    return `${fence}${padded}${fence}`;
}
/** Query parameters whose values are credentials often enough to never show them. */
const SECRET_QUERY_PARAMETER = /token|key|secret|signature|sig|password|auth|credential/i;
/**
 * A URL as it may be shown: a password in it (`https://user:pass@host`) or a credential-like
 * query parameter (`?token=…`) is replaced by `***`. Text that is not a URL is returned as is.
 */
function redactUrl(text) {
    let url;
    try {
        url = new URL(text);
    }
    catch {
        return text;
    }
    const secretParameters = [...url.searchParams.keys()].filter(name => SECRET_QUERY_PARAMETER.test(name));
    // Untouched URLs are returned as written: URL would normalize them (a trailing slash).
    if (!url.username && !url.password && secretParameters.length === 0)
        return text;
    if (url.username || url.password) {
        url.username = '***';
        url.password = '';
    }
    for (const name of secretParameters)
        url.searchParams.set(name, '***');
    // URL escapes the marks it put in; show them as written.
    return url.href.replace(/%2A%2A%2A/gi, '***');
}

;// CONCATENATED MODULE: ./src/report/format.ts
/**
 * Small pure number formatters shared by every report (terminal, job summary, PR comment,
 * annotations), so that one figure reads the same wherever the user meets it.
 *
 * Figures use three significant digits (`812 ms`, `1.24 s`, `35.2 tok/s`): enough to see a 1%
 * change, few enough to read at a glance. Counts are exact and grouped (`12,345`).
 */

/** What a missing figure (no samples, no baseline) shows as. */
const MISSING = '—';
/** The true minus sign: a hyphen is easy to miss in front of a number. */
const MINUS = '\u2212';
const format_SIGNIFICANT_DIGITS = 3;
function isFiniteNumber(value) {
    return typeof value === 'number' && Number.isFinite(value);
}
/** Replaces the ASCII hyphen of a negative number by a true minus sign. */
function withMinus(text) {
    return text.startsWith('-') ? MINUS + text.slice(1) : text;
}
/** An integer with thousands separators, e.g. `12,345`. */
function formatCount(value) {
    if (!isFiniteNumber(value))
        return MISSING;
    return withMinus(Math.round(value).toLocaleString('en-US'));
}
/**
 * A number with three significant digits and no exponent: `812`, `81.2`, `0.812`; from 1,000
 * up it is rounded to an integer and grouped (`12,345`), since extra digits there are noise.
 */
function formatSignificant(value, digits = format_SIGNIFICANT_DIGITS) {
    if (!isFiniteNumber(value))
        return MISSING;
    if (value === 0)
        return '0';
    if (Math.abs(value) >= 10 ** digits)
        return formatCount(value);
    // toPrecision only switches to an exponent below 1e-6 here; such figures read as zero.
    if (Math.abs(value) < 1e-6)
        return '0';
    return withMinus(value.toPrecision(digits));
}
/** Milliseconds: `0.42 ms`, `812 ms`, then seconds from one second on: `1.24 s`, `124 s`. */
function formatMs(ms) {
    if (!isFiniteNumber(ms))
        return MISSING;
    // 999.6 ms would round to "1000 ms": switch to seconds where the rounding would cross.
    if (Math.abs(ms) < 999.5)
        return `${formatSignificant(ms)} ms`;
    return `${formatSignificant(ms / 1000)} s`;
}
/** A token rate: `35.2 tok/s`. */
function formatRate(tokensPerSecond) {
    if (!isFiniteNumber(tokensPerSecond))
        return MISSING;
    return `${formatSignificant(tokensPerSecond)} tok/s`;
}
/** A request rate: `2.41 req/s`. */
function formatRequestRate(requestsPerSecond) {
    if (!isFiniteNumber(requestsPerSecond))
        return MISSING;
    return `${formatSignificant(requestsPerSecond)} req/s`;
}
/** A share (0..1) as an unsigned percentage with one decimal: `12.5%`. */
function formatRatio(fraction) {
    if (!isFiniteNumber(fraction))
        return MISSING;
    return `${withMinus((fraction * 100).toFixed(1))}%`;
}
/**
 * A relative change (a fraction: 0.123 for +12.3%) as a signed percentage with one decimal:
 * `+12.3%`, `−4.0%`, `0.0%`. The sign is always shown so a change never reads as a level.
 */
function formatPercent(fraction) {
    if (!isFiniteNumber(fraction))
        return MISSING;
    const text = (fraction * 100).toFixed(1);
    // -0.04% rounds to "-0.0": no sign on a change that rounds to nothing.
    if (Number(text) === 0)
        return '0.0%';
    return fraction > 0 ? `+${text}%` : `${withMinus(text)}%`;
}
/** A confidence interval of a relative change: `+1.2% … +8.9%`. */
function formatInterval(interval) {
    if (!interval || !isFiniteNumber(interval[0]) || !isFiniteNumber(interval[1]))
        return MISSING;
    return `${formatPercent(interval[0])} … ${formatPercent(interval[1])}`;
}
/** A p-value: `0.023`, `< 0.001`. */
function formatPValue(p) {
    if (!isFiniteNumber(p))
        return MISSING;
    if (p < 0.001)
        return '< 0.001';
    return p.toFixed(3);
}
/** A run-to-run spread (relative, 0.031 for 3.1%) as `±3.1%`. */
function formatNoise(fraction) {
    if (!isFiniteNumber(fraction))
        return MISSING;
    return `±${Math.abs(fraction * 100).toFixed(1)}%`;
}
/** A byte size in binary units: `512 B`, `1.50 KiB`, `15.6 GiB`. */
function formatBytes(bytes) {
    if (!isFiniteNumber(bytes))
        return MISSING;
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let value = bytes;
    let unit = 0;
    while (Math.abs(value) >= 1024 && unit < units.length - 1) {
        value /= 1024;
        unit += 1;
    }
    return unit === 0 ? `${formatCount(value)} B` : `${formatSignificant(value)} ${units[unit]}`;
}
/**
 * A length of time in words for settings and run lengths: `300 ms`, `45 s`, `1 min 30 s`,
 * `10 min`, `2 h 5 min`. Whole seconds from one second on: these are human-scale durations.
 */
function formatDuration(ms) {
    if (!isFiniteNumber(ms))
        return MISSING;
    if (Math.abs(ms) < 1000)
        return `${formatSignificant(ms)} ms`;
    const totalSeconds = Math.round(ms / 1000);
    const hours = Math.floor(totalSeconds / 3600);
    const minutes = Math.floor((totalSeconds % 3600) / 60);
    const seconds = totalSeconds % 60;
    const parts = [];
    if (hours > 0)
        parts.push(`${hours} h`);
    if (minutes > 0)
        parts.push(`${minutes} min`);
    // Seconds are noise next to hours.
    if (seconds > 0 && hours === 0)
        parts.push(`${seconds} s`);
    return parts.length > 0 ? parts.join(' ') : '0 s';
}
/** A clock for progress lines: `01:23`, `1:02:03`. */
function formatClock(ms) {
    const totalSeconds = Math.max(0, Math.floor(ms / 1000));
    const hours = Math.floor(totalSeconds / 3600);
    const minutes = Math.floor((totalSeconds % 3600) / 60);
    const seconds = totalSeconds % 60;
    const mmss = `${String(minutes).padStart(2, '0')}:${String(seconds).padStart(2, '0')}`;
    return hours > 0 ? `${hours}:${mmss}` : mmss;
}
/** A value in the unit the catalog gives its metric, e.g. `formatValue('ttft', 812)` → `812 ms`. */
function formatValue(metricId, value) {
    const definition = metricDefinition(metricId);
    switch (definition?.unit) {
        case 'ms':
            return formatMs(value);
        case 'tokens/s':
            return formatRate(value);
        case 'requests/s':
            return formatRequestRate(value);
        case 'ratio':
            return formatRatio(value);
        case 'tokens':
            return isFiniteNumber(value) ? `${formatSignificant(value)} tok` : MISSING;
        default:
            return formatSignificant(value);
    }
}
/** The unit as a short axis label: `ms`, `tok/s`, `req/s`, `%`, `tok`. */
function unitLabel(unit) {
    switch (unit) {
        case 'tokens/s':
            return 'tok/s';
        case 'requests/s':
            return 'req/s';
        case 'ratio':
            return '%';
        case 'tokens':
            return 'tok';
        default:
            return unit;
    }
}
/** The arrow that says which way is better: `↓` lower is better, `↑` higher is better. */
function directionArrow(direction) {
    return direction === 'lower-is-better' ? '↓' : '↑';
}
/** The statistic as people say it: `p95`, `median`, `average`; `value` (rates) says nothing. */
function formatStat(stat) {
    switch (stat) {
        case 'avg':
            return 'average';
        case 'med':
            return 'median';
        case 'value':
            return '';
        default:
            return stat;
    }
}
/** `Time to first token p95`, `Error rate`: the catalog title with the statistic compared. */
function metricLabel(metricId, stat) {
    const title = metricDefinition(metricId)?.title ?? metricId;
    const statText = formatStat(stat);
    return statText ? `${title} ${statText}` : title;
}
/**
 * Whether a relative change is good or bad news for this metric, or null when it is no
 * change at all; the reader should not have to remember which way each metric goes.
 */
function changeDirection(metricId, relativeChange) {
    if (!isFiniteNumber(relativeChange) || formatPercent(relativeChange) === '0.0%')
        return null;
    const lowerIsBetter = metricDefinition(metricId)?.direction !== 'higher-is-better';
    return relativeChange < 0 === lowerIsBetter ? 'better' : 'worse';
}
/** `+12.3% ▲ worse`, `−4.0% ▼ better`, `0.0%`: the change, its sign as an arrow, and its meaning. */
function formatChange(metricId, relativeChange) {
    if (!isFiniteNumber(relativeChange))
        return MISSING;
    const direction = changeDirection(metricId, relativeChange);
    if (direction === null)
        return formatPercent(relativeChange);
    const arrow = relativeChange > 0 ? '▲' : '▼';
    return `${formatPercent(relativeChange)} ${arrow} ${direction}`;
}
/** A gate limit in words: `10% worse`, `50 ms worse`; the threshold is always about getting worse. */
function formatLimit(threshold) {
    if (!threshold)
        return MISSING;
    const amount = threshold.kind === 'relative'
        ? `${(Math.abs(threshold.limit) * 100).toFixed(1).replace(/\.0$/, '')}%`
        : formatValue(threshold.metric, Math.abs(threshold.limit));
    return `${amount} worse`;
}

;// CONCATENATED MODULE: ./src/report/facts.ts


const VERDICT_STYLES = {
    pass: { emoji: '✅', symbol: '✓', title: 'Pass' },
    regression: { emoji: '❌', symbol: '✗', title: 'Regression' },
    'no-baseline': { emoji: '🆕', symbol: '○', title: 'No baseline' },
    'not-comparable': { emoji: '⚠️', symbol: '!', title: 'Not comparable' },
    failed: { emoji: '💥', symbol: '✗', title: 'Run failed' }
};
const METRIC_VERDICT_STYLES = {
    pass: { emoji: '✅', symbol: '✓', title: 'pass' },
    improvement: { emoji: '🚀', symbol: '✓', title: 'improvement' },
    regression: { emoji: '❌', symbol: '✗', title: 'regression' },
    'within-noise': { emoji: '〰️', symbol: '~', title: 'within noise' },
    inconclusive: { emoji: '❔', symbol: '?', title: 'inconclusive' }
};
/** A metric that is not gated cannot regress the run: its significant worsening is only "worse". */
const NOT_GATED_WORSE = { emoji: '🔸', symbol: '▲', title: 'worse (not gated)' };
function metricVerdictStyle(metric) {
    if (!metric.gated && metric.verdict === 'regression')
        return NOT_GATED_WORSE;
    return METRIC_VERDICT_STYLES[metric.verdict];
}
/**
 * The verdict to show: the gate's when it ran; otherwise `failed` for a run that did not
 * complete, and `no-baseline` for one that did (nothing was compared).
 */
function runVerdict(results, comparison) {
    if (comparison)
        return { verdict: comparison.verdict, reason: comparison.reason };
    if (results.status !== 'completed') {
        return {
            verdict: 'failed',
            reason: results.reason ?? `The run ended with status ${results.status}.`
        };
    }
    return { verdict: 'no-baseline', reason: 'No baseline was given, so nothing was compared.' };
}
/** Regressions first (a reader looks for them), then the rest in the gate's order. */
function byRegressionFirst(metrics) {
    const rank = (metric) => (metric.verdict === 'regression' ? 0 : 1);
    return metrics
        .map((metric, index) => ({ metric, index }))
        .sort((a, b) => rank(a.metric) - rank(b.metric) || a.index - b.index)
        .map(entry => entry.metric);
}
function gatedMetrics(comparison) {
    return byRegressionFirst(comparison?.metrics.filter(metric => metric.gated) ?? []);
}
function reportedOnlyMetrics(comparison) {
    return byRegressionFirst(comparison?.metrics.filter(metric => !metric.gated) ?? []);
}
function gatedRegressions(comparison) {
    return gatedMetrics(comparison).filter(metric => metric.verdict === 'regression');
}
/** Every warning a reader should see, once each: the run's own and the comparison's. */
function collectWarnings(results, comparison) {
    return [...new Set([...results.warnings, ...(comparison?.warnings ?? [])])];
}
/** The most common failures of measured requests, by class and message, most frequent first. */
function topErrors(results, limit = 3) {
    const groups = new Map();
    for (const request of results.requests) {
        if (request.phase !== 'measured' || request.error === null)
            continue;
        const key = `${request.error.class}\u0000${request.error.message}`;
        const group = groups.get(key);
        if (group)
            group.count += 1;
        else
            groups.set(key, { errorClass: request.error.class, message: request.error.message, count: 1 });
    }
    return [...groups.values()].sort((a, b) => b.count - a.count).slice(0, limit);
}
/** `480 sent, 478 succeeded, 2 failed (http: 2), 0 cut`: what the measured phase amounted to. */
function requestCounts(results) {
    const { sent, succeeded, failed, errorsByClass, cut } = results.summary.requests;
    const classes = Object.entries(errorsByClass)
        .filter(([, count]) => count > 0)
        .map(([errorClass, count]) => `${errorClass}: ${formatCount(count)}`);
    const failedText = classes.length > 0
        ? `${formatCount(failed)} failed (${classes.join(', ')})`
        : `${formatCount(failed)} failed`;
    return `${formatCount(sent)} sent, ${formatCount(succeeded)} succeeded, ${failedText}, ${formatCount(cut)} cut`;
}
/** How long the run took, wall clock and measured window. */
function runLength(results) {
    const wall = Date.parse(results.endedAt) - Date.parse(results.startedAt);
    const window = formatDuration(results.summary.windowMs);
    return Number.isFinite(wall)
        ? `${formatDuration(wall)} (measured window ${window})`
        : `measured window ${window}`;
}
/** Short commit for display: the first 7 hex digits, the way GitHub shows them. */
function shortSha(sha) {
    if (!sha)
        return null;
    return /^[0-9a-f]{8,40}$/i.test(sha) ? sha.slice(0, 7) : sha;
}
/** `3 runs, commit abc1234 on main, 2024-05-01`: where the baseline came from. */
function baselineDescription(comparison) {
    const baseline = comparison?.baseline;
    if (!baseline)
        return null;
    const parts = [`${baseline.runs} run${baseline.runs === 1 ? '' : 's'}`];
    const sha = shortSha(baseline.commit);
    if (sha)
        parts.push(`commit ${sha}${baseline.ref ? ` on ${baseline.ref}` : ''}`);
    else if (baseline.ref)
        parts.push(baseline.ref);
    if (baseline.date)
        parts.push(baseline.date.slice(0, 10));
    return parts.join(', ');
}
/** The confidence as a percentage: `99%`. */
function confidenceLabel(comparison) {
    const confidence = comparison?.confidence;
    if (!(typeof confidence === 'number' && confidence > 0 && confidence < 1))
        return 'CI';
    return `${Number((confidence * 100).toFixed(1))}% CI`;
}
/** Rates and throughputs as `[label with its direction, formatted value]`, for either table. */
function scalarRows(summary) {
    return METRICS.filter(metric => metric.kind !== 'distribution').map(metric => {
        const value = metric.kind === 'rate'
            ? summary.rates[metric.id]
            : summary.throughput[metric.id];
        return [`${metric.title} ${directionArrow(metric.direction)}`, formatValue(metric.id, value)];
    });
}

;// CONCATENATED MODULE: ./src/report/terminal.ts




/** Columns padded to their widest cell; numbers right-aligned so their digits line up. */
function renderTextTable(header, rows, align = []) {
    const widths = header.map((cell, column) => Math.max([...cell].length, ...rows.map(row => [...(row[column] ?? '')].length)));
    const pad = (cell, column) => {
        const fill = ' '.repeat(widths[column] - [...cell].length);
        return (align[column] ?? 'left') === 'right' ? fill + cell : cell + fill;
    };
    const line = (row) => row
        .map((cell, column) => pad(cell ?? '', column))
        .join('  ')
        .trimEnd();
    const rule = widths.map(width => '─'.repeat(width)).join('  ');
    return [line(header), rule, ...rows.map(line)].join('\n');
}
/** `Label        value` lines with the labels padded to one width. */
function renderFields(fields, indent = '  ') {
    const width = Math.max(...fields.map(([label]) => label.length));
    return fields.map(([label, value]) => `${indent}${label.padEnd(width)}  ${value}`).join('\n');
}
function describeLoad(load) {
    if (load.rate > 0) {
        const cap = load.concurrency > 0
            ? `, at most ${formatCount(load.concurrency)} in flight`
            : ', no cap on requests in flight';
        return `open loop: ${formatSignificant(load.rate)} requests/s, Poisson arrivals (seed ${load.arrivalSeed})${cap}`;
    }
    return `closed loop: ${formatCount(load.concurrency)} virtual users, think time ${formatDuration(load.thinkTimeMs)}`;
}
function describeLength(load) {
    const parts = [formatDuration(load.durationMs)];
    if (load.requests > 0)
        parts.push(`or ${formatCount(load.requests)} requests, whichever comes first`);
    return parts.join(' ');
}
function describeAbort(load) {
    const rules = [];
    if (load.abortTruncatedRate < 1)
        rules.push(`truncated > ${formatRatio(load.abortTruncatedRate)}`);
    if (load.abortErrorRate < 1)
        rules.push(`errors > ${formatRatio(load.abortErrorRate)}`);
    if (rules.length === 0)
        return 'never';
    return `when ${rules.join(' or ')}, checked after ${formatDuration(load.abortAfterMs)}`;
}
function describeDataset(settings, dataset) {
    const source = sanitizeText(redactUrl(dataset?.source ?? settings.dataset.source), 200);
    if (!dataset)
        return source;
    const sha = dataset.sha256 ? `, sha256 ${dataset.sha256.slice(0, 12)}…` : '';
    const cache = dataset.fromPreparedCache ? ', from the prepared-prompt cache' : '';
    return `${source} (${formatBytes(dataset.bytes)}${sha}${cache})`;
}
function describePrompts(settings, dataset) {
    const filters = `≥ ${settings.dataset.minTurns} turns, ${settings.dataset.minTokens}–${settings.dataset.maxPromptTokens} prompt tokens, ` +
        `context ≤ ${formatCount(settings.dataset.maxContext)}`;
    const kept = dataset
        ? `${formatCount(dataset.prompts)} of ${formatCount(settings.dataset.nPrompts)} wanted`
        : formatCount(settings.dataset.nPrompts);
    return `${kept} (${filters})`;
}
/**
 * The settings as the run will use them, printed before it starts. Secrets never appear:
 * the API key is `set` or `not set`, headers and extra body fields show their names only,
 * credentials in URLs are masked.
 */
function renderSettingsBanner(settings, dataset) {
    const { request, load } = settings;
    const headerNames = Object.keys(request.headers);
    const extraFields = Object.keys(request.extraBody);
    const fields = [
        ['Server', sanitizeText(redactUrl(request.serverUrl), 200)],
        ['Model', sanitizeText(request.model)],
        ['API key', request.apiKey ? 'set' : 'not set'],
        ...(headerNames.length > 0
            ? [['Headers', `${sanitizeText(headerNames.join(', '))} (values hidden)`]]
            : []),
        ...(extraFields.length > 0
            ? [['Extra body', sanitizeText(extraFields.join(', '))]]
            : []),
        ['Dataset', describeDataset(settings, dataset)],
        ['Prompts', describePrompts(settings, dataset)],
        ['Max tokens', formatCount(request.maxTokens)],
        ['Load', describeLoad(load)],
        ['Duration', describeLength(load)],
        ['Warmup', `${formatCount(load.warmupRequests)} requests, not measured`],
        [
            'Timeouts',
            `request ${formatDuration(request.requestTimeoutMs)}, server ready ${formatDuration(load.readyTimeoutMs)}, grace ${formatDuration(load.graceMs)}`
        ],
        ['Abort', describeAbort(load)],
        ['Seed', request.seed === null ? 'none' : String(request.seed)]
    ];
    return ['llm-bench: benchmark settings', renderFields(fields)].join('\n');
}
/**
 * One line of progress, e.g.
 * `[measured] 01:23 / 10:00 (14%)  sent 120  done 110  errors 2  in flight 8  TTFT avg 812 ms  decode avg 35.2 tok/s`.
 * Warmup has no end time to count towards, so it shows the elapsed time only.
 */
function renderProgressLine(p, durationMs) {
    const clock = p.phase === 'measured' && durationMs > 0
        ? `${formatClock(p.elapsedMs)} / ${formatClock(durationMs)} (${Math.min(100, Math.floor((p.elapsedMs / durationMs) * 100))}%)`
        : formatClock(p.elapsedMs);
    return [
        `[${p.phase}] ${clock}`,
        `sent ${formatCount(p.sent)}`,
        `done ${formatCount(p.done)}`,
        `errors ${formatCount(p.errors)}`,
        `in flight ${formatCount(p.inFlight)}`,
        `TTFT avg ${p.ttftMsAvg === null ? MISSING : formatMs(p.ttftMsAvg)}`,
        `decode avg ${p.decodeRateAvg === null ? MISSING : formatRate(p.decodeRateAvg)}`
    ].join('  ');
}
const DISTRIBUTION_STATS = ['avg', 'min', 'med', 'p90', 'p95', 'p99', 'max'];
function distributionRow(id, title, arrow, d) {
    return [
        `${title} ${arrow}`,
        ...DISTRIBUTION_STATS.map(stat => formatValue(id, d[stat])),
        formatCount(d.n)
    ];
}
function renderDistributions(summary) {
    const rows = METRICS.filter(metric => metric.kind === 'distribution').map(metric => {
        const id = metric.id;
        return distributionRow(id, metric.title, directionArrow(metric.direction), summary.distributions[id]);
    });
    const align = ['left', ...DISTRIBUTION_STATS.map(() => 'right'), 'right'];
    return renderTextTable(['Metric', ...DISTRIBUTION_STATS, 'n'], rows, align);
}
function renderScalars(summary) {
    return renderTextTable(['Metric', 'value'], scalarRows(summary), ['left', 'right']);
}
function renderTotals(summary) {
    const estimated = summary.totals.completion_tokens_estimated ? ' (some estimated)' : '';
    return `Tokens: ${formatCount(summary.totals.prompt_tokens)} prompt, ${formatCount(summary.totals.completion_tokens)} completion${estimated}`;
}
function comparisonRow(metric) {
    return [
        `${metricLabel(metric.metric, metric.stat)} ${directionArrow(metricDirection(metric))}`,
        formatValue(metric.metric, metric.baseline),
        formatValue(metric.metric, metric.current),
        formatChange(metric.metric, metric.relativeChange),
        formatInterval(metric.relativeChangeCi),
        formatPValue(metric.pValue),
        formatNoise(metric.historyNoise),
        formatLimit(metric.threshold),
        `${metricVerdictStyle(metric).symbol} ${metricVerdictStyle(metric).title}`
    ];
}
function metricDirection(metric) {
    return METRICS.find(definition => definition.id === metric.metric)?.direction ?? 'lower-is-better';
}
function comparisonTextTable(comparison, metrics) {
    const header = [
        'Metric',
        'baseline',
        'current',
        'change',
        confidenceLabel(comparison),
        'p',
        'noise',
        'limit',
        'verdict'
    ];
    const align = [
        'left',
        'right',
        'right',
        'left',
        'left',
        'right',
        'right',
        'left',
        'left'
    ];
    const table = renderTextTable(header, metrics.map(comparisonRow), align);
    const explanations = metrics.map(metric => `  ${metricLabel(metric.metric, metric.stat)}: ${sanitizeText(metric.explanation)}`);
    return [table, ...explanations].join('\n');
}
function renderComparison(comparison) {
    const sections = [];
    const baseline = baselineDescription(comparison);
    const gated = gatedMetrics(comparison);
    if (gated.length > 0) {
        sections.push(`Gated metrics, against the baseline (${sanitizeText(baseline ?? 'none')}):\n${comparisonTextTable(comparison, gated)}`);
    }
    const others = reportedOnlyMetrics(comparison);
    if (others.length > 0)
        sections.push(`Also compared (not gated):\n${comparisonTextTable(comparison, others)}`);
    if (comparison.differences.length > 0) {
        sections.push(`Settings that differ from the baseline:\n${comparison.differences.map(d => `  - ${sanitizeText(d)}`).join('\n')}`);
    }
    return sections;
}
/**
 * A comparison on its own, for `llm-bench compare`: each compared metric against its baseline
 * (gated first, regressions first), the differing settings, the warnings, and the verdict.
 */
function renderComparisonTable(comparison) {
    const sections = renderComparison(comparison);
    if (comparison.warnings.length > 0) {
        sections.push(`Warnings:\n${comparison.warnings.map(w => `  ! ${sanitizeText(w, 500)}`).join('\n')}`);
    }
    const style = VERDICT_STYLES[comparison.verdict];
    sections.push(`Verdict: ${style.symbol} ${style.title}: ${sanitizeText(comparison.reason, 500)}`);
    return sections.join('\n\n');
}
function renderFailure(results) {
    if (results.status === 'completed')
        return [];
    const lines = [`The run ${results.status}: ${sanitizeText(results.reason ?? 'no reason given')}`];
    lines.push(`Measured requests: ${requestCounts(results)}`);
    for (const error of topErrors(results)) {
        lines.push(`  ${formatCount(error.count)} × ${error.errorClass}: ${sanitizeText(error.message, 200)}`);
    }
    return [lines.join('\n')];
}
/**
 * Everything a terminal user needs after a run: the status, every metric of the catalog
 * (avg, min, med, p90, p95, p99, max, n), rates, throughput, totals, warnings, and, given a
 * comparison, each compared metric against its baseline and the overall verdict, last, where
 * the eye lands when the output stops.
 */
function renderTerminalSummary(results, comparison) {
    const { summary } = results;
    const { verdict, reason } = runVerdict(results, comparison);
    const style = VERDICT_STYLES[verdict];
    const model = results.server.model ?? results.settings.request.model;
    const sections = [
        `llm-bench results: ${sanitizeText(model)} at ${sanitizeText(redactUrl(results.server.url), 200)}\n` +
            `Status: ${results.status}${results.reason ? ` (${sanitizeText(results.reason)})` : ''}, ${runLength(results)}\n` +
            `Requests: ${requestCounts(results)}`,
        ...renderFailure(results),
        renderDistributions(summary),
        renderScalars(summary),
        `${renderTotals(summary)}\nClient event-loop lag: p99 ${formatMs(summary.client.event_loop_lag.p99)}, max ${formatMs(summary.client.event_loop_lag.max)}` +
            `\n↓ lower is better, ↑ higher is better`
    ];
    const warnings = collectWarnings(results, comparison);
    if (warnings.length > 0) {
        const shown = warnings.slice(0, 20).map(warning => `  ! ${sanitizeText(warning, 500)}`);
        if (warnings.length > 20)
            shown.push(`  … and ${warnings.length - 20} more`);
        sections.push(`Warnings:\n${shown.join('\n')}`);
    }
    if (comparison) {
        sections.push(...renderComparison(comparison));
        sections.push(`Verdict: ${style.symbol} ${style.title}: ${sanitizeText(reason, 500)}`);
    }
    return sections.join('\n\n');
}

;// CONCATENATED MODULE: ./src/cli/compare-command.ts




/** Prints the gate's report for two files; true when a gated metric regressed or the run failed. */
async function runCompare(baselinePath, currentPath, flags, stdout) {
    const confidence = Number(flags.confidence);
    if (!(confidence > 0 && confidence < 1)) {
        throw errors_invalidInput('confidence', flags.confidence, 'a number between 0 and 1, such as 0.99');
    }
    // Blank means the defaults, as for the action's input: an empty gate would pass everything.
    const thresholds = parseThresholds(flags.thresholds?.trim() || DEFAULT_THRESHOLDS);
    const { comparison } = await compareFiles(baselinePath, currentPath, { thresholds, confidence });
    stdout.write(renderComparisonTable(comparison) + '\n');
    return comparison.verdict === 'regression' || comparison.verdict === 'failed';
}

// EXTERNAL MODULE: external "node:url"
var external_node_url_ = __webpack_require__(3136);
// EXTERNAL MODULE: external "node:path"
var external_node_path_ = __webpack_require__(6760);
var external_node_path_default = /*#__PURE__*/__webpack_require__.n(external_node_path_);
// EXTERNAL MODULE: external "node:fs"
var external_node_fs_ = __webpack_require__(3024);
;// CONCATENATED MODULE: ./src/config/settings.ts
/**
 * Every setting of a benchmark run, in one typed shape shared by the CLI and the action.
 * Defaults are those of llama.cpp's k6 server benchmark (`SERVER_BENCH_*`), so a user of that
 * script gets the same run. Durations are in milliseconds everywhere inside the program.
 */

const DEFAULT_DATASET_URL = 'https://huggingface.co/datasets/anon8231489123/ShareGPT_Vicuna_unfiltered/resolve/main/ShareGPT_V3_unfiltered_cleaned_split.json';
const DEFAULT_SETTINGS = {
    dataset: {
        source: DEFAULT_DATASET_URL,
        cacheDir: '.llm-bench/cache',
        nPrompts: 480,
        minTurns: 2,
        minTokens: 4,
        maxPromptTokens: 1024,
        maxContext: 2048
    },
    request: {
        serverUrl: 'http://localhost:8080/v1',
        model: 'my-model',
        systemPrompt: 'You are ChatGPT, an AI assistant.',
        maxTokens: 512,
        stop: ['<|im_end|>'],
        seed: 42,
        extraBody: {},
        headers: {},
        requestTimeoutMs: 600_000
    },
    load: {
        concurrency: 8,
        durationMs: 600_000,
        requests: 0,
        thinkTimeMs: 300,
        rate: 0,
        arrivalSeed: 1,
        warmupRequests: 0,
        readyTimeoutMs: 600_000,
        graceMs: 30_000,
        abortTruncatedRate: 0.8,
        abortErrorRate: 1,
        abortAfterMs: 60_000
    }
};
/**
 * The settings as written to results and reports: the key, the header values and the URLs'
 * userinfo and credential-like query values replaced by a mark. `runBenchmark` also scrubs
 * every other query value (see `secretsOf`).
 */
function redactSettings(settings) {
    const headers = Object.fromEntries(Object.keys(settings.request.headers).map(k => [k, '***']));
    return {
        ...settings,
        dataset: { ...settings.dataset, source: redactUrl(settings.dataset.source) },
        request: {
            ...settings.request,
            serverUrl: redactUrl(settings.request.serverUrl),
            apiKey: settings.request.apiKey ? '***' : undefined,
            headers
        }
    };
}

;// CONCATENATED MODULE: ./src/config/parse.ts
/**
 * The one gateway from raw text (action inputs, CLI flags, environment variables) to typed,
 * validated settings. Every bad value fails at once with a message that names the input,
 * the value and the rule. Keys are the user-facing kebab-case names shared by the action's
 * inputs and the CLI's flags.
 */


const SETTING_NAMES = (/* unused pure expression or super */ null && ([
    'server-url',
    'model',
    'api-key',
    'dataset',
    'dataset-sha256',
    'cache-dir',
    'n-prompts',
    'min-turns',
    'min-tokens',
    'max-prompt-tokens',
    'max-context',
    'system-prompt',
    'max-tokens',
    'stop',
    'seed',
    'extra-body',
    'headers',
    'request-timeout',
    'concurrency',
    'duration',
    'requests',
    'think-time',
    'rate',
    'arrival-seed',
    'warmup-requests',
    'ready-timeout',
    'grace-period',
    'abort-truncated-rate',
    'abort-error-rate',
    'abort-after'
]));
/** Node's timers stop at 2^31 − 1 ms (24.8 days); a day is more than any benchmark needs. */
const MAX_DURATION_MS = 24 * 3_600_000;
/** Each virtual user holds a socket: beyond this the client runs out of them, not the server. */
const MAX_CONCURRENCY = 10_000;
/** Below this the gaps between arrivals are longer than a timer can wait. */
const MIN_RATE = 0.001;
/**
 * Body fields the benchmark itself sets: overriding them through `extra-body` would break the
 * measurement (`stream`) or leave the reports showing another value than was sent.
 */
const BODY_FIELDS_OWNED = {
    stream: 'the benchmark always streams',
    messages: "the prompts come from 'dataset'",
    model: "set it with 'model'",
    max_tokens: "set it with 'max-tokens'",
    seed: "set it with 'seed'",
    stop: "set it with 'stop'"
};
/** Turns raw strings into settings; absent or empty values take the defaults. */
function parseSettings(raw, defaults = DEFAULT_SETTINGS) {
    const read = new RawReader(raw);
    const d = defaults;
    return {
        dataset: {
            source: read.text('dataset') ?? d.dataset.source,
            sha256: read.sha256('dataset-sha256') ?? d.dataset.sha256,
            cacheDir: read.text('cache-dir') ?? d.dataset.cacheDir,
            nPrompts: read.integer('n-prompts', 1) ?? d.dataset.nPrompts,
            minTurns: read.integer('min-turns', 2) ?? d.dataset.minTurns,
            minTokens: read.integer('min-tokens', 0) ?? d.dataset.minTokens,
            maxPromptTokens: read.integer('max-prompt-tokens', 1) ?? d.dataset.maxPromptTokens,
            maxContext: read.integer('max-context', 2) ?? d.dataset.maxContext
        },
        request: {
            serverUrl: read.url('server-url') ?? d.request.serverUrl,
            model: read.text('model') ?? d.request.model,
            apiKey: read.text('api-key') ?? d.request.apiKey,
            systemPrompt: read.text('system-prompt', { keepEmpty: true }) ?? d.request.systemPrompt,
            maxTokens: read.integer('max-tokens', 1) ?? d.request.maxTokens,
            stop: read.stop('stop') ?? d.request.stop,
            // `none` reads as null, which `??` would replace with the default.
            seed: orDefault(read.seed('seed'), d.request.seed),
            extraBody: read.jsonObject('extra-body') ?? d.request.extraBody,
            headers: read.headers('headers') ?? d.request.headers,
            requestTimeoutMs: read.duration('request-timeout', 1) ?? d.request.requestTimeoutMs
        },
        load: {
            concurrency: read.integer('concurrency', 0, MAX_CONCURRENCY) ?? d.load.concurrency,
            durationMs: read.duration('duration', 1) ?? d.load.durationMs,
            requests: read.integer('requests', 0) ?? d.load.requests,
            thinkTimeMs: read.duration('think-time', 0) ?? d.load.thinkTimeMs,
            rate: read.rate('rate') ?? d.load.rate,
            arrivalSeed: read.integer('arrival-seed', 0) ?? d.load.arrivalSeed,
            warmupRequests: read.integer('warmup-requests', 0) ?? d.load.warmupRequests,
            readyTimeoutMs: read.duration('ready-timeout', 0) ?? d.load.readyTimeoutMs,
            graceMs: read.duration('grace-period', 0) ?? d.load.graceMs,
            abortTruncatedRate: read.fraction('abort-truncated-rate') ?? d.load.abortTruncatedRate,
            abortErrorRate: read.fraction('abort-error-rate') ?? d.load.abortErrorRate,
            abortAfterMs: read.duration('abort-after', 0) ?? d.load.abortAfterMs
        }
    };
}
function orDefault(value, fallback) {
    return value === undefined ? fallback : value;
}
/** Cross-field rules that no single value can check. */
function checkSettings(settings) {
    const { dataset, load } = settings;
    if (dataset.maxPromptTokens > dataset.maxContext) {
        throw errors_invalidInput('max-prompt-tokens', dataset.maxPromptTokens, `at most 'max-context' (${dataset.maxContext})`);
    }
    if (load.rate === 0 && load.concurrency === 0) {
        throw errors_invalidInput('concurrency', 0, 'at least 1 in a closed-loop run (when rate is 0)');
    }
    return settings;
}
/** `90`, `90s`, `1500ms`, `10m`, `1h`, `1m30s`: a bare number means seconds. */
function parseDuration(text) {
    const trimmed = text.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed))
        return Number(trimmed) * 1000;
    const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map(p => p[0]).join('') !== trimmed)
        return null;
    const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    return parts.reduce((total, [, value, unit]) => total + Number(value) * unitMs[unit], 0);
}
class RawReader {
    raw;
    constructor(raw) {
        this.raw = raw;
    }
    text(name, options = {}) {
        const value = this.raw[name];
        if (value === undefined)
            return undefined;
        if (value.trim() === '' && !options.keepEmpty)
            return undefined;
        return options.keepEmpty ? value : value.trim();
    }
    integer(name, min, max = Number.MAX_SAFE_INTEGER) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        const parsed = Number(value);
        if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed < min || parsed > max) {
            const range = max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`;
            throw errors_invalidInput(name, value, `a whole number ${range}`);
        }
        return parsed;
    }
    /** 0 for a closed loop; otherwise a rate whose gaps a timer can wait for. */
    rate(name) {
        const value = this.number(name, 0);
        if (value === undefined || value === 0 || value >= MIN_RATE)
            return value;
        throw errors_invalidInput(name, value, `0 (closed loop) or at least ${MIN_RATE} requests/s`);
    }
    number(name, min) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        const parsed = Number(value);
        if (!Number.isFinite(parsed) || parsed < min) {
            throw errors_invalidInput(name, value, `a number of at least ${min}`);
        }
        return parsed;
    }
    fraction(name) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        const parsed = value.endsWith('%') ? Number(value.slice(0, -1)) / 100 : Number(value);
        if (!Number.isFinite(parsed) || parsed < 0 || parsed > 1) {
            throw errors_invalidInput(name, value, 'a fraction from 0 to 1 (or a percentage such as 80%)');
        }
        return parsed;
    }
    duration(name, minMs) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        const parsed = parseDuration(value);
        if (parsed === null || parsed < minMs || parsed > MAX_DURATION_MS) {
            const rule = minMs > 0 ? 'a positive duration' : 'a duration';
            throw errors_invalidInput(name, value, `${rule} of at most 24h, such as 90s, 10m, 1500ms or 1m30s`);
        }
        return parsed;
    }
    url(name) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        let parsed;
        try {
            parsed = new URL(value);
        }
        catch {
            throw errors_invalidInput(name, value, 'an http(s) URL such as http://localhost:8080/v1');
        }
        if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
            throw errors_invalidInput(name, value, 'an http(s) URL such as http://localhost:8080/v1');
        }
        return value.replace(/\/+$/, '');
    }
    sha256(name) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        if (!/^[0-9a-fA-F]{64}$/.test(value)) {
            throw errors_invalidInput(name, value, 'a SHA-256 digest of 64 hexadecimal characters');
        }
        return value.toLowerCase();
    }
    seed(name) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        if (value === 'none')
            return null;
        return this.integer(name, 0);
    }
    /** A JSON array of strings, or one stop string per line; `none` for no stop strings. */
    stop(name) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        if (value === 'none')
            return [];
        if (!value.startsWith('['))
            return value
                .split('\n')
                .map(line => line.trim())
                .filter(Boolean);
        const parsed = parseJson(name, value);
        if (!Array.isArray(parsed) || !parsed.every(item => typeof item === 'string')) {
            throw errors_invalidInput(name, value, 'a JSON array of strings, or one stop string per line');
        }
        return parsed;
    }
    jsonObject(name) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        const parsed = parseJson(name, value);
        if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
            throw errors_invalidInput(name, value, 'a JSON object such as {"temperature": 0}');
        }
        const owned = Object.keys(parsed).find(key => key in BODY_FIELDS_OWNED);
        if (owned) {
            const rule = `a JSON object without '${owned}' (${BODY_FIELDS_OWNED[owned]})`;
            throw errors_invalidInput(name, value, rule);
        }
        return parsed;
    }
    /** One `Name: value` per line. Values may be secret, so messages show only the name. */
    headers(name) {
        const value = this.text(name);
        if (value === undefined)
            return undefined;
        const headers = {};
        for (const line of value
            .split('\n')
            .map(l => l.trim())
            .filter(Boolean)) {
            const colon = line.indexOf(':');
            const header = colon > 0 ? line.slice(0, colon).trim() : '';
            if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(header)) {
                const shown = colon > 0 ? `${line.slice(0, colon)}: ***` : '(a line without a colon)';
                throw errors_invalidInput(name, shown, "one 'Header-Name: value' per line");
            }
            headers[header] = line.slice(colon + 1).trim();
        }
        return headers;
    }
}
function parseJson(name, value) {
    try {
        return JSON.parse(value);
    }
    catch (error) {
        throw errors_invalidInput(name, value, `valid JSON (${error.message})`);
    }
}

;// CONCATENATED MODULE: ./src/config/secrets.ts


const SECRET_MARK = '***';
/** Shorter values are left alone: scrubbing `v1` or `en` would garble ordinary text. */
const MIN_SECRET_LENGTH = 4;
/**
 * Every value of the settings that is or may be a credential: the API key, each header value
 * (and the credential after an auth scheme, `Bearer <token>`), and the userinfo and query values
 * of the server and dataset URLs, both as written and percent-decoded. A username is a secret
 * only when it stands alone (`https://<token>@host`, a common way to pass a token); next to a
 * password it names an account, and scrubbing a common word like `user` would garble text.
 * Longest first, so a secret that contains another is replaced whole.
 */
function secretsOf(settings) {
    const { request, dataset } = settings;
    const values = [
        request.apiKey ?? '',
        ...Object.values(request.headers).flatMap(headerSecrets),
        ...secretsOfUrl(request.serverUrl),
        ...secretsOfUrl(dataset.source)
    ];
    return longestFirst(values);
}
function longestFirst(values) {
    const kept = values.filter(value => value.length >= MIN_SECRET_LENGTH);
    return [...new Set(kept)].sort((a, b) => b.length - a.length);
}
function headerSecrets(value) {
    const trimmed = value.trim();
    const credential = /^[A-Za-z-]+\s+(\S+)$/.exec(trimmed)?.[1];
    return credential ? [trimmed, credential] : [trimmed];
}
/** The userinfo and query values of a URL (see `secretsOf`); none for text that is no URL. */
function secretsOfUrl(text) {
    let url;
    try {
        url = new URL(text);
    }
    catch {
        return [];
    }
    const userinfo = url.password ? [url.password] : [url.username];
    // URLSearchParams decodes; the raw `name=value` pairs keep the form a log line may show.
    const rawQuery = url.search
        .slice(1)
        .split('&')
        .filter(pair => pair.includes('='))
        .map(pair => pair.slice(pair.indexOf('=') + 1));
    const query = [...url.searchParams.values()];
    return longestFirst([...userinfo.flatMap(withDecoded), ...rawQuery, ...query]);
}
function withDecoded(value) {
    try {
        return [value, decodeURIComponent(value)];
    }
    catch {
        return [value];
    }
}
/** `text` with every occurrence of each secret replaced by `***`. */
function scrubText(text, secrets) {
    let scrubbed = text;
    for (const secret of secrets) {
        if (secret.length >= MIN_SECRET_LENGTH)
            scrubbed = scrubbed.split(secret).join(SECRET_MARK);
    }
    return scrubbed;
}
/**
 * A copy of `value` with every string scrubbed, at any depth. Numbers, booleans and keys stay:
 * a secret of digits must not turn a count into text.
 */
function scrubDeep(value, secrets) {
    if (secrets.length === 0)
        return value;
    return walk(value, secrets);
}
function walk(value, secrets) {
    if (typeof value === 'string')
        return scrubText(value, secrets);
    if (Array.isArray(value))
        return value.map(item => walk(item, secrets));
    if (value !== null && typeof value === 'object') {
        const entries = Object.entries(value);
        return Object.fromEntries(entries.map(([key, item]) => [key, walk(item, secrets)]));
    }
    return value;
}
/** A logger that scrubs every message and group title before passing it on. */
function scrubbingLogger(log, secrets) {
    if (secrets.length === 0)
        return log;
    const scrub = (text) => scrubText(text, secrets);
    return {
        info: message => log.info(scrub(message)),
        debug: message => log.debug(scrub(message)),
        warning: message => log.warning(scrub(message)),
        group: (title, fn) => log.group(scrub(title), fn)
    };
}

;// CONCATENATED MODULE: ./src/log.ts
/** A logger that drops everything: for library callers and tests that do not read logs. */
const log_silentLogger = {
    info: () => undefined,
    debug: () => undefined,
    warning: () => undefined,
    group: (_title, fn) => fn()
};
/** A logger that keeps every line, for tests that check what a user would be told. */
class MemoryLogger {
    lines = [];
    info(message) {
        this.lines.push({ level: 'info', message });
    }
    debug(message) {
        this.lines.push({ level: 'debug', message });
    }
    warning(message) {
        this.lines.push({ level: 'warning', message });
    }
    group(_title, fn) {
        return fn();
    }
    text(level) {
        return this.lines
            .filter(line => level === undefined || line.level === level)
            .map(line => line.message)
            .join('\n');
    }
}

// EXTERNAL MODULE: external "node:stream"
var external_node_stream_ = __webpack_require__(7075);
// EXTERNAL MODULE: external "node:stream/promises"
var external_node_stream_promises_ = __webpack_require__(6466);
// EXTERNAL MODULE: ./node_modules/undici/index.js
var undici = __webpack_require__(6752);
;// CONCATENATED MODULE: ./src/dataset/files.ts
/** Small file helpers of the dataset module: streaming SHA-256 and atomic writes. */




/** SHA-256 (hex) of a file, read as a stream so that memory does not grow with its size. */
async function sha256OfFile(path, signal) {
    const hash = (0,external_node_crypto_.createHash)('sha256');
    for await (const chunk of (0,external_node_fs_.createReadStream)(path, { highWaterMark: 1 << 20, signal })) {
        hash.update(chunk);
    }
    return hash.digest('hex');
}
/** A unique temporary name next to `path`, so that the final rename stays on one file system. */
function tempPathFor(path) {
    const tag = `${process.pid}-${(0,external_node_crypto_.randomBytes)(4).toString('hex')}`;
    return (0,external_node_path_.join)((0,external_node_path_.dirname)(path), `.${(0,external_node_path_.basename)(path)}.${tag}.part`);
}
/** Writes a whole file under a temp name and renames it: readers never see half a file. */
async function writeFileAtomic(path, data) {
    const temp = tempPathFor(path);
    try {
        await (0,external_node_fs_promises_.writeFile)(temp, data);
        await (0,external_node_fs_promises_.rename)(temp, path);
    }
    catch (error) {
        await (0,external_node_fs_promises_.rm)(temp, { force: true });
        throw error;
    }
}
function sha256OfText(text) {
    return (0,external_node_crypto_.createHash)('sha256').update(text).digest('hex');
}

;// CONCATENATED MODULE: ./src/dataset/download.ts
/**
 * Downloads a dataset URL into the cache folder: streamed to disk, hashed on the way, retried on
 * network errors and 5xx, and renamed into place only when complete and verified, so a file under
 * the final name is always whole (a later run or the Actions cache may reuse it as is).
 */










const DEFAULTS = { retries: 4, backoffMs: 1000, progressIntervalMs: 5000 };
const MAX_REDIRECTIONS = 5;
/** A failure worth another attempt: network error, 5xx, or a transfer cut short. */
class RetryableError extends Error {
}
/** File name of a URL in the download folder: a hash of the URL keeps distinct URLs apart. */
function downloadFileName(url) {
    const last = (0,external_node_path_.basename)(new URL(url).pathname).replace(/[^\w.-]/g, '_') || 'dataset.json';
    return `${sha256OfText(url).slice(0, 12)}-${last}`;
}
/** The sidecar holding a file's SHA-256, written at download time to avoid rehashing 673 MB. */
function sidecarPath(path) {
    return `${path}.sha256`;
}
async function downloadDataset(url, dir, options) {
    await (0,external_node_fs_promises_.mkdir)(dir, { recursive: true });
    const path = (0,external_node_path_.join)(dir, downloadFileName(url));
    const cached = await reuseCached(url, path, options);
    if (cached)
        return cached;
    const agent = new undici/* Agent */.g6();
    try {
        const dispatcher = agent.compose(undici/* interceptors */.dY.redirect({ maxRedirections: MAX_REDIRECTIONS }));
        return await downloadWithRetries(url, path, dispatcher, options);
    }
    finally {
        await agent.destroy();
    }
}
/** A complete file from an earlier run (or the Actions cache), unless it fails the user's sha. */
async function reuseCached(url, path, options) {
    const info = await (0,external_node_fs_promises_.stat)(path).catch(() => null);
    if (!info?.isFile())
        return null;
    const sha256 = (await readSidecar(path)) ?? (await hashAndRecord(path, options.signal));
    const expected = options.expectedSha256?.toLowerCase();
    if (expected && sha256 !== expected) {
        options.log.warning(`the cached download of '${url}' has SHA-256 ${sha256}, not the 'dataset-sha256' ${expected}; downloading it again`);
        await (0,external_node_fs_promises_.rm)(path, { force: true });
        await (0,external_node_fs_promises_.rm)(sidecarPath(path), { force: true });
        return null;
    }
    options.log.info(`dataset: using the cached download ${path} (${formatMB(info.size)})`);
    return { path, sha256, bytes: info.size, reused: true };
}
async function readSidecar(path) {
    const text = await (0,external_node_fs_promises_.readFile)(sidecarPath(path), 'utf8').catch(() => '');
    const sha = text.trim().toLowerCase();
    return /^[0-9a-f]{64}$/.test(sha) ? sha : null;
}
async function hashAndRecord(path, signal) {
    const sha256 = await sha256OfFile(path, signal);
    await writeFileAtomic(sidecarPath(path), `${sha256}\n`);
    return sha256;
}
async function downloadWithRetries(url, path, dispatcher, options) {
    const retries = options.retries ?? DEFAULTS.retries;
    const backoffMs = options.backoffMs ?? DEFAULTS.backoffMs;
    for (let attempt = 0;; attempt++) {
        try {
            return await downloadOnce(url, path, dispatcher, options);
        }
        catch (error) {
            if (!(error instanceof RetryableError) || options.signal?.aborted)
                throw error;
            if (attempt >= retries) {
                throw new UserError(`'dataset' download of '${url}' failed after ${attempt + 1} attempts: ${error.message}`);
            }
            const waitMs = backoffMs * 2 ** attempt;
            options.log.warning(`dataset download of '${url}' failed (${error.message}); retry ${attempt + 1} of ${retries} in ${(waitMs / 1000).toFixed(1)} s`);
            await (0,promises_.setTimeout)(waitMs, undefined, { signal: options.signal }).catch(sleepError => {
                // Surface the caller's own abort reason, as every other step does.
                options.signal?.throwIfAborted();
                throw sleepError;
            });
        }
    }
}
async function downloadOnce(url, path, dispatcher, options) {
    const temp = tempPathFor(path);
    try {
        const { sha256, bytes } = await transfer(url, temp, dispatcher, options);
        verifySha(url, sha256, options.expectedSha256);
        // Sidecar first: a crash between the two renames leaves a file without sidecar (rehashed
        // later), never a final-named file with a wrong one.
        await writeFileAtomic(sidecarPath(path), `${sha256}\n`);
        await (0,external_node_fs_promises_.rename)(temp, path);
        return { path, sha256, bytes, reused: false };
    }
    finally {
        await (0,external_node_fs_promises_.rm)(temp, { force: true });
    }
}
function verifySha(url, actual, expected) {
    if (!expected || actual === expected.toLowerCase())
        return;
    throw new UserError(`'dataset-sha256' does not match the file downloaded from '${url}': expected ${expected.toLowerCase()} but got ${actual}`);
}
/** One HTTP transfer into `temp`; throws RetryableError for anything a retry may fix. */
async function transfer(url, temp, dispatcher, options) {
    const response = await (0,undici/* request */.Em)(url, { dispatcher, signal: options.signal }).catch(error => {
        throw retryableUnlessAborted(error, options.signal);
    });
    await checkStatus(url, response);
    const total = contentLength(response.headers['content-length']);
    options.log.info(`dataset: downloading ${url}${total === null ? '' : ` (${formatMB(total)})`}`);
    const meter = new TransferMeter(total, options);
    try {
        await (0,external_node_stream_promises_.pipeline)(response.body, meter.stream, (0,external_node_fs_.createWriteStream)(temp), { signal: options.signal });
    }
    catch (error) {
        throw retryableUnlessAborted(error, options.signal);
    }
    if (total !== null && meter.bytes !== total) {
        throw new RetryableError(`the transfer ended after ${meter.bytes} of ${total} bytes`);
    }
    meter.logDone();
    return { sha256: meter.sha256(), bytes: meter.bytes };
}
async function checkStatus(url, response) {
    const { statusCode } = response;
    if (statusCode >= 200 && statusCode < 300)
        return;
    await response.body.dump();
    if (statusCode >= 500)
        throw new RetryableError(`HTTP ${statusCode}`);
    throw new UserError(`'dataset' download of '${url}' failed with HTTP ${statusCode}; expected 200 with the ShareGPT JSON file (not retried: a 4xx will not change)`);
}
function retryableUnlessAborted(error, signal) {
    if (signal?.aborted || error instanceof UserError)
        return error;
    return new RetryableError(errorMessage(error));
}
function contentLength(header) {
    const value = Number(Array.isArray(header) ? header[0] : header);
    return header !== undefined && Number.isSafeInteger(value) && value >= 0 ? value : null;
}
/** Hashes and counts the bytes as they pass, and logs progress at most every interval. */
class TransferMeter {
    total;
    options;
    bytes = 0;
    hash = (0,external_node_crypto_.createHash)('sha256');
    startedAt = performance.now();
    lastLogAt = this.startedAt;
    stream;
    constructor(total, options) {
        this.total = total;
        this.options = options;
        this.stream = new external_node_stream_.Transform({
            transform: (chunk, _encoding, done) => {
                this.hash.update(chunk);
                this.bytes += chunk.length;
                this.maybeLogProgress();
                done(null, chunk);
            }
        });
    }
    sha256() {
        return this.hash.digest('hex');
    }
    logDone() {
        this.options.log.info(`dataset: downloaded ${formatMB(this.bytes)} at ${this.rate()}`);
    }
    maybeLogProgress() {
        const now = performance.now();
        const interval = this.options.progressIntervalMs ?? DEFAULTS.progressIntervalMs;
        if (now - this.lastLogAt < interval)
            return;
        this.lastLogAt = now;
        const share = this.total
            ? ` of ${formatMB(this.total)} (${((100 * this.bytes) / this.total).toFixed(1)}%)`
            : '';
        this.options.log.info(`dataset: downloaded ${formatMB(this.bytes)}${share}, ${this.rate()}`);
    }
    rate() {
        const seconds = Math.max((performance.now() - this.startedAt) / 1000, 1e-3);
        return `${(this.bytes / 1e6 / seconds).toFixed(1)} MB/s`;
    }
}
function formatMB(bytes) {
    return `${(bytes / 1e6).toFixed(1)} MB`;
}

;// CONCATENATED MODULE: ./src/dataset/filters.ts

/** Stage names as written to DatasetFacts.stages, in order. */
const STAGES = [
    'read',
    'minTurns',
    'firstFromHuman',
    'minTokens',
    'maxPromptTokens',
    'maxContext',
    'nPrompts'
];
/** The user-facing input behind each stage, for messages. */
const STAGE_INPUTS = {
    read: 'dataset',
    minTurns: 'min-turns',
    firstFromHuman: 'dataset',
    minTokens: 'min-tokens',
    maxPromptTokens: 'max-prompt-tokens',
    maxContext: 'max-context',
    nPrompts: 'n-prompts'
};
/** Keeps the first `nPrompts` prompts that pass every filter, counting what each stage keeps. */
class PromptFilter {
    settings;
    prompts = [];
    kept = new Map(STAGES.map(name => [name, 0]));
    constructor(settings) {
        this.settings = settings;
    }
    /** True once `nPrompts` prompts are kept: later records cannot change the result. */
    get full() {
        return this.prompts.length >= this.settings.nPrompts;
    }
    /** Examines one record in file order. */
    offer(record) {
        this.pass('read');
        const turns = wellFormedTurns(record);
        if (!turns || turns.length < Math.max(2, this.settings.minTurns))
            return;
        this.pass('minTurns');
        if (turns[0].from !== 'human')
            return;
        this.pass('firstFromHuman');
        const promptTokens = countPseudoTokens(turns[0].value);
        const completionTokens = countPseudoTokens(turns[1].value);
        const { minTokens, maxPromptTokens, maxContext } = this.settings;
        if (promptTokens < minTokens || completionTokens < minTokens)
            return;
        this.pass('minTokens');
        if (promptTokens > maxPromptTokens)
            return;
        this.pass('maxPromptTokens');
        if (promptTokens + completionTokens > maxContext)
            return;
        this.pass('maxContext');
        if (this.full)
            return;
        this.pass('nPrompts');
        this.prompts.push({ prompt: turns[0].value, promptTokens, completionTokens });
    }
    stages() {
        return STAGES.map(name => ({ name, kept: this.kept.get(name) ?? 0 }));
    }
    pass(stage) {
        this.kept.set(stage, (this.kept.get(stage) ?? 0) + 1);
    }
}
/**
 * The conversation when the record has the shape the filters read (an object whose
 * `conversations` array starts with turns holding string values); null for a malformed record,
 * which the first stage drops like a too-short one instead of failing the run.
 */
function wellFormedTurns(record) {
    if (typeof record !== 'object' || record === null)
        return null;
    const turns = record.conversations;
    if (!Array.isArray(turns))
        return null;
    const used = turns.slice(0, 2);
    return used.every(isTurn) ? turns : null;
}
function isTurn(turn) {
    return typeof turn === 'object' && turn !== null && typeof turn.value === 'string';
}
/** The stage that dropped the last records standing, when no prompt survived; null otherwise. */
function lastDroppingStage(stages) {
    if (stages.at(-1)?.kept !== 0)
        return null;
    const index = stages.findIndex(stage => stage.kept === 0);
    return index > 0 ? stages[index] : null;
}
/** `read 50 → min-turns 50 → ...`, the line logged after preparing. */
function formatStages(stages) {
    return stages.map(stage => `${stageLabel(stage.name)} ${stage.kept}`).join(' → ');
}
function stageLabel(name) {
    return name === 'read' || name === 'firstFromHuman'
        ? name.replace(/[A-Z]/g, c => `-${c.toLowerCase()}`)
        : (STAGE_INPUTS[name] ?? name);
}
/** Threshold of a stage, for the zero-prompts message. */
function stageThreshold(name, settings) {
    switch (name) {
        case 'minTurns':
            return `${settings.minTurns}`;
        case 'firstFromHuman':
            return `first turn from 'human'`;
        case 'minTokens':
            return `${settings.minTokens}`;
        case 'maxPromptTokens':
            return `${settings.maxPromptTokens}`;
        case 'maxContext':
            return `${settings.maxContext}`;
        case 'nPrompts':
            return `${settings.nPrompts}`;
        default:
            return '';
    }
}

;// CONCATENATED MODULE: ./src/dataset/local-source.ts
/**
 * SHA-256 of a local dataset file without rehashing it on every run. Hashing 673 MB costs about
 * a second or two, more than loading the prepared set it is needed to find, so the hash is kept
 * in a small sidecar keyed by the file's absolute path, size and mtime: an unchanged file is
 * recognised from one stat(). An edited file changes mtime (or size) and is hashed again.
 */




async function describeLocalFile(path, shaDir, expectedSha256, signal) {
    const info = await (0,external_node_fs_promises_.stat)(path).catch(() => null);
    if (!info)
        throw new UserError(`'dataset' file '${path}' does not exist`);
    if (!info.isFile())
        throw new UserError(`'dataset' '${path}' is not a file; expected a ShareGPT JSON file`);
    const absolute = (0,external_node_path_.resolve)(path);
    const record = {
        path: absolute,
        size: info.size,
        mtimeMs: info.mtimeMs
    };
    const recordPath = (0,external_node_path_.join)(shaDir, `local-${sha256OfText(absolute).slice(0, 16)}.sha256.json`);
    let sha256 = await readRecordedSha(recordPath, record);
    const expected = expectedSha256?.toLowerCase();
    // A recorded sha that disagrees with the user's is checked again before failing the run.
    if (!sha256 || (expected && sha256 !== expected)) {
        sha256 = await sha256OfFile(path, signal);
        await (0,external_node_fs_promises_.mkdir)(shaDir, { recursive: true });
        await writeFileAtomic(recordPath, JSON.stringify({ ...record, sha256 }));
    }
    if (expected && sha256 !== expected) {
        throw new UserError(`'dataset-sha256' does not match 'dataset' file '${path}': expected ${expected} but got ${sha256}`);
    }
    return { path, sha256, bytes: info.size };
}
async function readRecordedSha(recordPath, current) {
    try {
        const saved = JSON.parse(await (0,external_node_fs_promises_.readFile)(recordPath, 'utf8'));
        const same = saved.path === current.path &&
            saved.size === current.size &&
            saved.mtimeMs === current.mtimeMs;
        return same && /^[0-9a-f]{64}$/.test(saved.sha256) ? saved.sha256 : null;
    }
    catch {
        return null;
    }
}

;// CONCATENATED MODULE: ./src/dataset/prepared-cache.ts
/**
 * The prepared prompt set, saved after filtering so that the next run with the same dataset and
 * filter settings loads ~480 prompts (a few MB of JSON, tens of ms) instead of parsing 673 MB.
 * It also keeps the dataset's SHA-256 and size, so a run that uses it reports complete facts
 * without opening (or, for a URL, downloading) the dataset.
 */




/** Bumped whenever the filters or the file layout change, so old files are never trusted. */
const PREPARED_VERSION = 2;
/** Every setting that changes which prompts are kept, in one fixed order. */
function filterSettingsOf(settings) {
    const { nPrompts, minTurns, minTokens, maxPromptTokens, maxContext } = settings;
    return { nPrompts, minTurns, minTokens, maxPromptTokens, maxContext };
}
/** `identity` names the dataset (its URL or its SHA-256); the filters are spelled out. */
function preparedKey(identity, settings) {
    const f = filterSettingsOf(settings);
    const filters = `t${f.minTurns}-k${f.minTokens}-p${f.maxPromptTokens}-c${f.maxContext}-n${f.nPrompts}`;
    return `llm-bench-prepared-v${PREPARED_VERSION}-${identity}-${filters}`;
}
function prepared_cache_preparedPath(dir, key) {
    return (0,external_node_path_.join)(dir, `${key}.json`);
}
async function savePreparedSet(path, dataset, settings, set) {
    const file = {
        version: PREPARED_VERSION,
        datasetSha256: dataset.sha256,
        datasetBytes: dataset.bytes,
        filters: filterSettingsOf(settings),
        stages: set.stages,
        prompts: set.prompts
    };
    await (0,external_node_fs_promises_.mkdir)((0,external_node_path_.join)(path, '..'), { recursive: true });
    await writeFileAtomic(path, JSON.stringify(file));
}
/**
 * The saved set, or null when there is none. `expectedSha256`, when known (the local file's, or
 * the user's `dataset-sha256`), must match the set's dataset. A file that cannot be used
 * (corrupt, another version, dataset or settings) is a warning: the caller parses again.
 */
async function prepared_cache_loadPreparedSet(path, expectedSha256, settings, log) {
    let text;
    try {
        text = await (0,external_node_fs_promises_.readFile)(path, 'utf8');
    }
    catch {
        return null;
    }
    try {
        return checkPreparedFile(JSON.parse(text), expectedSha256?.toLowerCase(), settings);
    }
    catch (error) {
        log.warning(`ignoring the prepared prompt set ${path} (${errorMessage(error)}); parsing the dataset again`);
        return null;
    }
}
function checkPreparedFile(data, expectedSha256, settings) {
    const file = data;
    if (typeof file !== 'object' || file === null)
        throw new Error('not a JSON object');
    if (file.version !== PREPARED_VERSION)
        throw new Error(`version ${file.version}`);
    const dataset = datasetOf(file);
    if (expectedSha256 && dataset.sha256 !== expectedSha256) {
        throw new Error(`made from another dataset: SHA-256 ${dataset.sha256}, not ${expectedSha256}`);
    }
    if (JSON.stringify(file.filters) !== JSON.stringify(filterSettingsOf(settings))) {
        throw new Error('made with other filter settings');
    }
    if (!Array.isArray(file.stages) || !Array.isArray(file.prompts)) {
        throw new Error('no stages or prompts');
    }
    if (!file.prompts.every(isPreparedPrompt))
        throw new Error('a prompt has the wrong shape');
    if (file.prompts.length === 0 || file.prompts.length !== file.stages.at(-1)?.kept) {
        throw new Error('the prompt count does not match the stage counts');
    }
    return { prompts: file.prompts, stages: file.stages, dataset };
}
function datasetOf(file) {
    const { datasetSha256: sha256, datasetBytes: bytes } = file;
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(sha256)) {
        throw new Error('no dataset SHA-256');
    }
    if (!Number.isSafeInteger(bytes) || bytes < 0)
        throw new Error('no dataset size');
    return { sha256, bytes: bytes };
}
function isPreparedPrompt(value) {
    const p = value;
    return (typeof p === 'object' &&
        p !== null &&
        typeof p.prompt === 'string' &&
        Number.isInteger(p.promptTokens) &&
        Number.isInteger(p.completionTokens));
}

// EXTERNAL MODULE: ./node_modules/@streamparser/json/dist/mjs/index.js + 7 modules
var mjs = __webpack_require__(5497);
;// CONCATENATED MODULE: ./src/dataset/sharegpt-reader.ts
/**
 * Streams the records of a ShareGPT file: one JSON array, read chunk by chunk so that memory
 * stays flat whatever the file size (the full set is 673 MB; V8 strings stop at 512 MiB).
 *
 * Parser choice: @streamparser/json (the synchronous core of the installed
 * @streamparser/json-node), per the project rule that a kept library beats own code when it
 * meets the goal. Measured on this machine over a 242 MB slice with the k6 filters: JSON.parse
 * 30-40 MB/s at 986 MB peak RSS, the library 41-45 MB/s at 90-170 MB peak RSS, so the goal
 * (>= 0.8x JSON.parse) is met without a hand-written byte splitter. The synchronous core is used
 * instead of the Node Transform so that a parse error can be pinned to a byte range of the file.
 */



const READ_CHUNK_BYTES = 256 * 1024;
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const OPEN_BRACKET = 0x5b;
const UTF8_BOM = [0xef, 0xbb, 0xbf];
/**
 * Pure push parser: bytes in, completed top-level array elements out. `source` names the file in
 * error messages. Elements split across chunks (multi-byte characters included) come out whole.
 */
class ArrayRecordParser {
    source;
    parser = new mjs/* JSONParser */.oj({ paths: ['$.*'], keepStack: false });
    completed = [];
    bytes = 0;
    started = false;
    constructor(source) {
        this.source = source;
        this.parser.onValue = ({ value }) => {
            this.completed.push(value);
        };
    }
    /** Bytes consumed so far. */
    get offset() {
        return this.bytes;
    }
    /** Feeds the next chunk and returns the records it completed, in file order. */
    push(chunk) {
        const body = this.started ? chunk : this.checkStart(chunk);
        const start = this.bytes + (chunk.length - body.length);
        this.bytes += chunk.length;
        if (body.length > 0)
            this.write(body, start);
        return this.completed.splice(0);
    }
    /** Checks that the input was one complete array; throws a UserError otherwise. */
    end() {
        if (!this.started)
            throw this.fail('is empty; expected a JSON array of ShareGPT records');
        if (this.parser.isEnded)
            return;
        throw this.fail(`is not valid JSON: it ends after ${this.bytes} bytes before the top-level array is closed (truncated?)`);
    }
    /** Skips leading whitespace and a BOM, and rejects a top level that is not an array. */
    checkStart(chunk) {
        let i = 0;
        if (this.bytes === 0 && UTF8_BOM.every((b, k) => chunk[k] === b))
            i = UTF8_BOM.length;
        while (i < chunk.length && WHITESPACE.has(chunk[i]))
            i++;
        if (i === chunk.length)
            return chunk.subarray(i);
        if (chunk[i] !== OPEN_BRACKET) {
            const found = JSON.stringify(String.fromCharCode(chunk[i]));
            throw this.fail(`must hold a JSON array of ShareGPT records at the top level, but byte ${this.bytes + i} is ${found}`);
        }
        this.started = true;
        return chunk.subarray(i);
    }
    write(body, start) {
        try {
            this.parser.write(body);
        }
        catch (error) {
            throw this.fail(`is not valid JSON: ${describeParseError(error, start, this.bytes)}`);
        }
    }
    fail(problem) {
        return new UserError(`'dataset' file '${this.source}' ${problem}`);
    }
}
/** The library's message, with the byte offset when it gives one, else the chunk's byte range. */
function describeParseError(error, start, end) {
    const message = error instanceof Error ? error.message : String(error);
    const absolute = /absolute position "(\d+)"/.exec(message);
    const reason = message.replace(/ at chunk position.*?\(absolute position "\d+"\)/, '');
    if (absolute)
        return `${reason} at byte ${absolute[1]}`;
    return `${reason} between bytes ${start} and ${end}`;
}
/**
 * Yields every record of the file in order. Stopping the iteration early (break/return) closes
 * the file, so a reader that has what it needs never touches the rest of a large file.
 */
async function* readShareGptRecords(path, options = {}) {
    const file = await openDataset(path);
    const parser = new ArrayRecordParser(path);
    const chunkBytes = options.chunkBytes ?? READ_CHUNK_BYTES;
    try {
        for (;;) {
            options.signal?.throwIfAborted();
            // A fresh buffer per read: the parser may keep views of a chunk for a token it has not finished.
            const buffer = Buffer.allocUnsafe(chunkBytes);
            const { bytesRead } = await file.read(buffer, 0, chunkBytes, null);
            if (bytesRead === 0)
                break;
            for (const record of parser.push(buffer.subarray(0, bytesRead)))
                yield record;
        }
        parser.end();
    }
    finally {
        await file.close();
    }
}
async function openDataset(path) {
    try {
        return await (0,external_node_fs_promises_.open)(path, 'r');
    }
    catch (error) {
        const code = error.code;
        if (code === 'ENOENT')
            throw new UserError(`'dataset' file '${path}' does not exist`);
        throw new UserError(`'dataset' file '${path}' cannot be read: ${error.message}`);
    }
}

;// CONCATENATED MODULE: ./src/dataset/index.ts
/**
 * The dataset step of a run: the prompts from the prepared-set cache when this dataset and these
 * filters were prepared before, else from the ShareGPT file (local or downloaded), streamed
 * through the k6 filters and read only until enough prompts are kept. A URL dataset's prepared
 * set is found by its URL, before any download: a repeated run never touches the 673 MB file.
 */










async function prepareDataset(settings, log, signal) {
    const { cachePath, set: cached, file: opened } = await lookUpPreparedSet(settings, log, signal);
    if (cached) {
        log.info(`dataset: ${cached.prompts.length} prompts from the prepared set ${cachePath}`);
        log.info(`dataset: ${formatStages(cached.stages)}`);
        const facts = factsOf(settings, opened?.path ?? null, cached.dataset, cached, true);
        return { prompts: cached.prompts, facts };
    }
    const file = opened ?? (await downloadFile(settings, log, signal));
    const set = opened
        ? await filterDatasetFile(file.path, settings, signal)
        : await filterDownload(file.path, settings, signal);
    log.info(`dataset: ${set.prompts.length} prompts from ${file.path}`);
    log.info(`dataset: ${formatStages(set.stages)}`);
    if (set.prompts.length === 0)
        throw noPromptsError(file.path, set.stages, settings);
    await savePreparedSet(cachePath, file, settings, set).catch(error => log.warning(`could not save the prepared prompt set ${cachePath}: ${errorMessage(error)}`));
    return { prompts: set.prompts, facts: factsOf(settings, file.path, file, set, false) };
}
/**
 * True when a usable prepared set is on disk for a URL dataset, so the action can skip
 * restoring the download. Local datasets answer false: their set is keyed by the file's hash.
 */
async function hasPreparedUrlSet(settings) {
    if (!isUrl(settings.source))
        return false;
    const { preparedDir } = datasetCachePaths(settings);
    const cachePath = preparedPath(preparedDir, preparedCacheKey(settings));
    return (await loadPreparedSet(cachePath, settings.sha256, settings, silentLogger)) !== null;
}
/**
 * `localShaDir` holds the remembered hashes of local files. It is kept out of `preparedDir`,
 * which the action caches: a record restored from another runner names another mtime and
 * would only force the hash to be taken again.
 */
function datasetCachePaths(settings) {
    return {
        downloadDir: (0,external_node_path_.join)(settings.cacheDir, 'downloads'),
        preparedDir: (0,external_node_path_.join)(settings.cacheDir, 'prepared'),
        localShaDir: (0,external_node_path_.join)(settings.cacheDir, 'local-sha256')
    };
}
/** Key of the downloaded file in the Actions cache: the URL, and the expected sha when given. */
function datasetCacheKey(settings) {
    return `llm-bench-dataset-v1-${urlIdentity(settings)}`;
}
/**
 * Key (and file name) of a prepared set: the dataset and every filter setting. A URL dataset is
 * named by its URL and `dataset-sha256` when given (as its download is), so the key is known
 * before anything is downloaded; a local file by its SHA-256, `localSha256`, which it needs.
 */
function preparedCacheKey(settings, localSha256) {
    if (isUrl(settings.source))
        return preparedKey(`url-${urlIdentity(settings)}`, settings);
    if (!localSha256)
        throw new Error('the prepared set of a local dataset is keyed by its SHA-256');
    return preparedKey(`sha-${localSha256.toLowerCase()}`, settings);
}
/** A URL's hash, and the user's sha when given: without it, whatever the URL serves is reused. */
function urlIdentity(settings) {
    const sha = settings.sha256 ? `-${settings.sha256.toLowerCase()}` : '';
    return `${sha256OfText(settings.source).slice(0, 16)}${sha}`;
}
/**
 * Streams a ShareGPT file through the filters; stops reading once `nPrompts` prompts are kept.
 * Exported for the benchmark, which times it without the caches.
 */
async function filterDatasetFile(path, settings, signal) {
    const filter = new PromptFilter(settings);
    for await (const record of readShareGptRecords(path, { signal })) {
        filter.offer(record);
        if (filter.full)
            break;
    }
    return { prompts: filter.prompts, stages: filter.stages() };
}
function isUrl(source) {
    return /^https?:\/\//i.test(source);
}
/** For a URL, by the URL alone (no download); for a local file, by its SHA-256. */
async function lookUpPreparedSet(settings, log, signal) {
    const { preparedDir, localShaDir } = datasetCachePaths(settings);
    if (isUrl(settings.source)) {
        const cachePath = prepared_cache_preparedPath(preparedDir, preparedCacheKey(settings));
        // The user's sha, when given, must be the one the set was made from.
        const set = await prepared_cache_loadPreparedSet(cachePath, settings.sha256, settings, log);
        return { cachePath, set, file: null };
    }
    const file = await describeLocalFile(settings.source, localShaDir, settings.sha256, signal);
    const cachePath = prepared_cache_preparedPath(preparedDir, preparedCacheKey(settings, file.sha256));
    const set = await prepared_cache_loadPreparedSet(cachePath, file.sha256, settings, log);
    return { cachePath, set, file };
}
/**
 * A URL that served something else (an HTML login page, an error text) must not stay in the
 * cache, where every later run would fail on it again: the bad download is removed.
 */
async function filterDownload(path, settings, signal) {
    try {
        return await filterDatasetFile(path, settings, signal);
    }
    catch (error) {
        if (!(error instanceof UserError) || signal?.aborted)
            throw error;
        await Promise.all([(0,external_node_fs_promises_.rm)(path, { force: true }), (0,external_node_fs_promises_.rm)(sidecarPath(path), { force: true })]);
        throw new UserError(`'dataset' ${settings.source} did not serve a ShareGPT JSON file: ${error.message}. ` +
            'The download was removed from the cache, so the next run downloads it again.');
    }
}
async function downloadFile(settings, log, signal) {
    const { downloadDir } = datasetCachePaths(settings);
    const options = { log, signal, expectedSha256: settings.sha256 };
    const { path, sha256, bytes } = await downloadDataset(settings.source, downloadDir, options);
    return { path, sha256, bytes };
}
/** `path` is null when the prompts came from a URL's prepared set: no file was opened. */
function factsOf(settings, path, dataset, set, fromPreparedCache) {
    return {
        source: settings.source,
        path,
        sha256: dataset.sha256,
        bytes: dataset.bytes,
        stages: set.stages,
        prompts: set.prompts.length,
        fromPreparedCache
    };
}
function noPromptsError(path, stages, settings) {
    const read = stages[0]?.kept ?? 0;
    const counts = formatStages(stages);
    if (read === 0)
        return new UserError(`'dataset' file '${path}' holds no records (an empty array)`);
    const stage = lastDroppingStage(stages);
    const by = stage ? `; the last ones by ${describeStage(stage.name, settings)}` : '';
    return new UserError(`'dataset' file '${path}': all ${read} records were dropped by the filters${by}: ${counts}`);
}
function describeStage(name, settings) {
    if (name === 'firstFromHuman')
        return "the first-turn-from-'human' filter";
    return `\`${STAGE_INPUTS[name]}\` (${stageThreshold(name, settings)})`;
}

// EXTERNAL MODULE: external "node:perf_hooks"
var external_node_perf_hooks_ = __webpack_require__(643);
;// CONCATENATED MODULE: ./src/engine/arrivals.ts
/** Open-loop arrival times: a Poisson process from a seeded PRNG, so a run can be repeated. */

/** Arrival offsets in ms from the start of the measured phase, at `rate` requests per second. */
function* poissonArrivals(rate, seed) {
    if (!(rate > 0))
        throw new Error(`arrival rate must be > 0, got ${rate}`);
    const random = mulberry32(seed);
    let at = 0;
    for (;;) {
        // Exponential gaps; 1 - u keeps the logarithm finite (u is in [0, 1)).
        at += (-Math.log(1 - random()) / rate) * 1000;
        yield at;
    }
}
/** The first `count` arrival offsets, ms. */
function arrivalSchedule(rate, seed, count) {
    const arrivals = poissonArrivals(rate, seed);
    return Array.from({ length: count }, () => arrivals.next().value);
}

;// CONCATENATED MODULE: ./src/engine/endpoint.ts
/**
 * An endpoint under the API base URL. The base may carry a query (`?api-version=…`, a token
 * some gateways want): the route goes into the path and the query is kept, not appended to.
 */
function endpointUrl(serverUrl, route) {
    const url = new URL(serverUrl);
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/${route.replace(/^\/+/, '')}`;
    return url;
}

;// CONCATENATED MODULE: ./src/engine/sse.ts
/**
 * A byte-level Server-Sent Events line parser. It works on the raw Buffers of the response so
 * only `data:` values are ever decoded, and it keeps every unknown field (`error: ...`, a raw
 * JSON line) whole even when it is split across reads: eventsource-parser drops such lines
 * when they straddle a read, which would hide a server's error message.
 *
 * It is on the hot path of every token: lines are found with `indexOf` in the read's own memory,
 * only a line that straddles two reads is copied, and an event that is one data line (the usual
 * `data: {...}` + blank line) goes to the sink as raw bytes, so a plain token chunk is never
 * decoded at all (see fast-chunk.ts).
 *
 * A line that spans many reads (a huge chunk, or a server that never sends a newline) keeps its
 * pieces in a list and is joined once, when its newline comes: joining on every read made a 40 MB
 * line take 30 s. Past MAX_LINE_BYTES the parser gives up, so such a server cannot exhaust memory.
 */
const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;
const DATA = Buffer.from('data:');
/** Longest line, and longest event's data, accepted: far above any real chunk. */
const MAX_LINE_BYTES = 32 * 1024 * 1024;
class SseParser {
    sink;
    maxLineBytes;
    /** The start of an unfinished line, one copied piece per read; empty in the common case. */
    pending = [];
    pendingBytes = 0;
    data = null;
    eventType = undefined;
    failed = false;
    /** Bytes copied to keep and join unfinished lines: linear in the body, for the tests. */
    copiedBytes = 0;
    constructor(sink, maxLineBytes = MAX_LINE_BYTES) {
        this.sink = sink;
        this.maxLineBytes = maxLineBytes;
    }
    feed(chunk) {
        if (this.failed)
            return;
        let start = 0;
        if (this.pendingBytes > 0) {
            const lf = chunk.indexOf(LF);
            if (lf === -1)
                return this.keep(chunk);
            // Only the line that straddles the reads is joined (with the blank line after it, if
            // any, so the event can still take the fast path); the rest is read in place.
            const joinEnd = Math.max(lf + 1, blankLine(chunk, lf + 1));
            const line = this.takePending(chunk.subarray(0, joinEnd));
            this.lines(line, line.toString('latin1'), 0);
            start = joinEnd;
        }
        start = this.lines(chunk, chunk.toString('latin1'), start);
        if (start < chunk.length && !this.failed)
            this.keep(chunk.subarray(start));
    }
    /** The body ended: a last line without a newline and a last event without a blank line count. */
    end() {
        if (this.failed)
            return;
        if (this.pendingBytes > 0) {
            const rest = this.takePending();
            const end = rest[rest.length - 1] === CR ? rest.length - 1 : rest.length;
            this.line(rest, rest.toString('latin1'), 0, end, rest.length);
        }
        this.dispatch();
    }
    /** Keeps the start of an unfinished line. */
    keep(piece) {
        this.pendingBytes += piece.length;
        if (this.pendingBytes > this.maxLineBytes) {
            return this.fail(`the server sent an SSE line over ${size(this.maxLineBytes)} without a newline`);
        }
        // Copy: the HTTP client may reuse the memory behind the read for the next one.
        this.pending.push(Buffer.from(piece));
        this.copiedBytes += piece.length;
    }
    /** The kept pieces and `tail`, joined once, and the list emptied. */
    takePending(tail) {
        if (tail !== undefined)
            this.pending.push(tail);
        const line = Buffer.concat(this.pending);
        this.copiedBytes += line.length;
        this.pending = [];
        this.pendingBytes = 0;
        return line;
    }
    fail(message) {
        this.failed = true;
        this.pending = [];
        this.pendingBytes = 0;
        this.data = null;
        this.sink.onInvalid?.(message);
    }
    /**
     * Reads the complete lines of `buf` from `start`; returns where the incomplete rest begins.
     * `bytes` is `buf` as a byte string: V8 searches it faster than Buffer#indexOf, a native call.
     */
    lines(buf, bytes, start) {
        let lf = bytes.indexOf('\n', start);
        while (lf !== -1 && !this.failed) {
            const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
            start = this.line(buf, bytes, start, end, lf + 1);
            lf = bytes.indexOf('\n', start);
        }
        return start;
    }
    /** Reads the line `buf[start, end)`; returns where the next one starts (`next` or beyond). */
    line(buf, bytes, start, end, next) {
        if (start === end) {
            this.dispatch();
            return next;
        }
        if (buf[start] === COLON)
            return next; // comment or keep-alive
        if (startsWith(buf, start, end, DATA))
            return this.dataLine(buf, bytes, start + 5, end, next);
        const colon = buf.indexOf(COLON, start);
        const hasColon = colon !== -1 && colon < end;
        const field = buf.toString('utf8', start, hasColon ? colon : end);
        const value = hasColon ? decodeValue(buf, colon + 1, end) : '';
        if (field === 'event')
            this.eventType = value;
        else if (field !== 'id' && field !== 'retry') {
            this.sink.onOtherLine(field, value, buf.toString('utf8', start, end));
        }
        return next;
    }
    /**
     * A data line. When it is a whole event by itself (nothing gathered before it, a blank line
     * right after it in this read) the sink gets its bytes and the blank line is consumed here.
     */
    dataLine(buf, bytes, start, end, next) {
        if (start < end && buf[start] === SPACE)
            start++;
        const afterBlank = this.data === null && this.eventType === undefined ? blankLine(buf, next) : -1;
        if (afterBlank !== -1 && this.sink.onDataEvent !== undefined) {
            this.sink.onDataEvent(buf, bytes, start, end);
            return afterBlank;
        }
        this.addData(buf.toString('utf8', start, end));
        return next;
    }
    addData(value) {
        this.data = this.data === null ? value : `${this.data}\n${value}`;
        // Many short data lines can make an event as large as one long line.
        if (this.data.length > this.maxLineBytes) {
            this.fail(`the server sent an SSE event over ${size(this.maxLineBytes)} without a blank line`);
        }
    }
    dispatch() {
        if (this.data !== null)
            this.sink.onEvent(this.data, this.eventType);
        this.data = null;
        this.eventType = undefined;
    }
}
function size(bytes) {
    const mib = bytes / 1024 / 1024;
    return mib >= 1 ? `${Math.round(mib * 10) / 10} MiB` : `${bytes} bytes`;
}
/** Index past the blank line (LF or CR LF) at `at`, or -1 when there is none there. */
function blankLine(buf, at) {
    if (buf[at] === LF)
        return at + 1;
    return buf[at] === CR && buf[at + 1] === LF ? at + 2 : -1;
}
function startsWith(buf, start, end, prefix) {
    if (end - start < prefix.length)
        return false;
    for (let i = 0; i < prefix.length; i++)
        if (buf[start + i] !== prefix[i])
            return false;
    return true;
}
/** A field value: one leading space is part of the syntax, not of the value. */
function decodeValue(buf, start, end) {
    return buf.toString('utf8', start < end && buf[start] === SPACE ? start + 1 : start, end);
}

;// CONCATENATED MODULE: ./src/engine/fast-chunk.ts
/**
 * The fast path for plain token chunks.
 *
 * Why: decoding and `JSON.parse` of every SSE event was most of the engine's cost per chunk
 * (≈1.4 µs of 1.43 µs), so a fast server could outrun the client and the client, not the server,
 * set the measured rate. Yet almost every event of a stream is the same token chunk with another
 * piece of text: llama.cpp, vLLM and the simulator repeat the chunk byte for byte (id, created,
 * model, fingerprint) apart from the `content` string.
 *
 * How it stays exact: a chunk goes the slow way (decode + `JSON.parse`), and when the parsed object
 * is a plain token chunk (see `isPlainTokenChunk`), its bytes before and after the content string
 * become a template. A later event made of the template's prefix, then a valid, non-empty JSON
 * string body, then the template's suffix is, by JSON's grammar, the same object with other
 * content: a token chunk that changes nothing but the token count. Before a template is used, a
 * probe (prefix + marker + suffix) is parsed to prove the content string sits where we think.
 * Any other event (first of a stream, finish, usage, error, role, reasoning, tool calls, several
 * choices, an escape we do not know, a different layout) is parsed in full as before.
 *
 * Why a template and not a search of the raw bytes for `"usage"`, `"role"`, `"finish_reason":"`
 * and so on: those conditions are checked here too, but on the parsed template, where text cannot
 * fake or hide a key (an escaped key, a quoted key inside the content); the bytes only have to be
 * compared, which is also cheaper than several searches per event.
 *
 * Everything here works on "byte strings": latin1 decodings of UTF-8 bytes, one char per byte, so
 * offsets are byte offsets. The parser decodes each read that way once (a copy, no UTF-8 work),
 * and comparing slices of it with `===` is a memcmp in V8: about half the cost of
 * `Buffer#compare` and a third of a JS byte loop, per event.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const LOWER_U = 0x75;
const fast_chunk_COLON = 0x3a;
/** The bytes allowed after a backslash in a JSON string, `u` (and its 4 hex digits) aside. */
const SIMPLE_ESCAPES = new Set(Array.from('"\\/bfnrt', c => c.charCodeAt(0)));
const PROBE = 'fast-chunk-probe';
const CONTENT_KEY = '"content"';
const HEX4 = /^[0-9a-fA-F]{4}$/;
class PlainChunkTemplate {
    prefix;
    suffix;
    constructor(
    /** Byte strings of the event before and after the content string body. */
    prefix, suffix) {
        this.prefix = prefix;
        this.suffix = suffix;
    }
    /**
     * A template from the data of an event that parsed to a plain token chunk, or null when its
     * content string cannot be located with certainty.
     */
    static from(data) {
        const bytes = Buffer.from(data).toString('latin1');
        const bodyStart = contentValueStart(bytes);
        const bodyEnd = bodyStart === -1 ? -1 : stringBodyEnd(bytes, bodyStart);
        if (bodyEnd <= bodyStart)
            return null;
        return PlainChunkTemplate.proven(bytes.slice(0, bodyStart), bytes.slice(bodyEnd));
    }
    /** The template, if a probe through it parses with the probe as the delta's content. */
    static proven(prefix, suffix) {
        let probe;
        try {
            probe = JSON.parse(`${utf8(prefix)}${PROBE}${utf8(suffix)}`);
        }
        catch {
            return null;
        }
        if (!fast_chunk_isObject(probe) || !isPlainTokenChunk(probe) || deltaOf(probe).content !== PROBE) {
            return null;
        }
        return new PlainChunkTemplate(prefix, suffix);
    }
    /** True when the byte string `bytes[start, end)` is this template with non-empty content. */
    matches(bytes, start, end) {
        const { prefix, suffix } = this;
        const bodyStart = start + prefix.length;
        const suffixStart = end - suffix.length;
        if (suffixStart <= bodyStart)
            return false;
        if (bytes.slice(start, bodyStart) !== prefix)
            return false;
        return (stringBodyEnd(bytes, bodyStart) === suffixStart && bytes.slice(suffixStart, end) === suffix);
    }
}
/**
 * A chunk whose only effect on a request's record is one token: no error, usage or timings, one
 * choice without a finish reason, a delta with non-empty `content` and nothing else that is not
 * null (no role, reasoning or tool calls; a null one, as some servers send, changes nothing).
 * Stricter than `StreamState` needs, on purpose.
 */
function isPlainTokenChunk(message) {
    if (message.error != null || message.usage != null || message.timings != null)
        return false;
    const choices = message.choices;
    if (!Array.isArray(choices) || choices.length !== 1)
        return false;
    const choice = choices[0];
    if (!fast_chunk_isObject(choice) || choice.finish_reason != null || !fast_chunk_isObject(choice.delta))
        return false;
    const delta = choice.delta;
    if (typeof delta.content !== 'string' || delta.content.length === 0)
        return false;
    return Object.keys(delta).every(key => key === 'content' || delta[key] === null);
}
function deltaOf(message) {
    const choice = message.choices[0];
    return choice.delta;
}
/**
 * Index just past the opening quote of the value of the one `"content"` key, or -1. Two
 * occurrences (text that quotes the key, a second choice) mean we cannot be sure which is which.
 */
function contentValueStart(bytes) {
    const key = bytes.indexOf(CONTENT_KEY);
    if (key === -1 || bytes.indexOf(CONTENT_KEY, key + 1) !== -1)
        return -1;
    let i = skipSpace(bytes, key + CONTENT_KEY.length);
    if (bytes.charCodeAt(i) !== fast_chunk_COLON)
        return -1;
    i = skipSpace(bytes, i + 1);
    return bytes.charCodeAt(i) === QUOTE ? i + 1 : -1;
}
/** JSON's whitespace: space, tab, LF, CR. */
function skipSpace(bytes, i) {
    for (let c = bytes.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;) {
        c = bytes.charCodeAt(++i);
    }
    return i;
}
/**
 * Where a JSON string body starting at `bytes[start]` ends (the index of its closing quote), or
 * -1 when it is not a body `JSON.parse` would accept: a raw control character, an unknown escape,
 * or no closing quote. Bytes ≥ 0x80 are UTF-8 and fine anywhere in a string.
 */
function stringBodyEnd(bytes, start) {
    for (let i = start; i < bytes.length; i++) {
        const byte = bytes.charCodeAt(i);
        if (byte === QUOTE)
            return i;
        if (byte < 0x20)
            return -1;
        if (byte === BACKSLASH) {
            const next = bytes.charCodeAt(++i);
            if (next === LOWER_U) {
                if (!HEX4.test(bytes.slice(i + 1, i + 5)))
                    return -1;
                i += 4;
            }
            else if (!SIMPLE_ESCAPES.has(next))
                return -1;
        }
    }
    return -1;
}
/** A byte string as the UTF-8 text it holds. */
function utf8(bytes) {
    return Buffer.from(bytes, 'latin1').toString('utf8');
}
function fast_chunk_isObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

;// CONCATENATED MODULE: ./src/engine/stream-state.ts
/**
 * What one streamed response says, gathered event by event. Pure: the caller stamps each read
 * (`readAt`) before feeding it, so every event parsed from that read carries the read's time.
 */

const MAX_MESSAGE = 200;
/**
 * Plain token chunks a stream may turn into a template: one is enough for a server that repeats
 * its chunk; a few more cover a change of layout; a server whose every chunk differs outside the
 * content (a per-chunk nonce) stops paying for templates after these.
 */
const TEMPLATE_TRIES = 4;
class StreamState {
    /** Arrival time of the read being parsed, ms on the run's clock. */
    readAt = 0;
    chunks = 0;
    tokenChunks = 0;
    firstTokenAt = null;
    lastTokenAt = null;
    interTokenMs = [];
    finishReason = null;
    done = false;
    promptTokens = null;
    completionTokens = null;
    model = null;
    systemFingerprint = null;
    timings = null;
    error = null;
    /** Of `chunks`, those the fast path counted without parsing (for tests and profiling). */
    fastChunks = 0;
    /** This stream's plain token chunk, once one was parsed: see fast-chunk.ts. */
    template = null;
    templateTries = TEMPLATE_TRIES;
    /** A one-line event, as bytes: a plain token chunk is counted without decoding or parsing it. */
    onDataEvent(buf, bytes, start, end) {
        if (this.error !== null)
            return;
        if (this.template !== null && this.template.matches(bytes, start, end)) {
            this.chunks++;
            this.fastChunks++;
            return this.token();
        }
        this.parse(buf.toString('utf8', start, end), true);
    }
    onEvent(data, eventType) {
        if (this.error !== null)
            return;
        if (eventType === 'error') {
            this.chunks++;
            return this.fail('stream-error', serverMessage(data));
        }
        // Text comes here when the event had several data lines or the parser was asked for text:
        // it may make the first template, never replace one the bytes path is using.
        this.parse(data, this.template === null);
    }
    /** The full path: `JSON.parse`; a plain token chunk may become the template (`mayLearn`). */
    parse(data, mayLearn) {
        this.chunks++;
        if (data === '[DONE]') {
            this.done = true;
            return;
        }
        let message;
        try {
            message = JSON.parse(data);
        }
        catch {
            return this.fail('invalid-response', `event data is not JSON: ${excerpt(data)}`);
        }
        if (!stream_state_isObject(message))
            return this.fail('invalid-response', `event data is not a JSON object: ${excerpt(data)}`);
        this.takeMessage(message);
        if (mayLearn && this.templateTries > 0 && isPlainTokenChunk(message))
            this.learn(data);
    }
    /** Makes a parsed plain token chunk the template the next chunks are matched against. */
    learn(data) {
        this.templateTries--;
        this.template = PlainChunkTemplate.from(data) ?? this.template;
    }
    onOtherLine(field, value, line) {
        if (this.error !== null)
            return;
        if (field === 'error')
            return this.fail('stream-error', serverMessage(value));
        // A JSON object sent without SSE framing, e.g. an error body written into the stream.
        if (line.startsWith('{')) {
            const message = parseObject(line);
            if (message !== null && message.error != null)
                this.fail('stream-error', messageOf(message.error));
        }
    }
    /** The parser gave up on the stream (a line or event over its size limit). */
    onInvalid(message) {
        this.fail('invalid-response', message);
    }
    fail(errorClass, message) {
        if (this.error === null)
            this.error = { class: errorClass, message: excerpt(message) };
    }
    /** Called when the body ended: no finish reason and no `[DONE]` means the stream was cut. */
    endOfBody() {
        if (this.error === null && !this.done && this.finishReason === null) {
            this.fail('cut-off', 'the stream ended without a finish reason or [DONE]');
        }
    }
    /** Takes everything a chunk or a whole (non-streamed) completion carries. */
    takeMessage(message) {
        if (message.error != null)
            return this.fail('stream-error', messageOf(message.error));
        if (this.model === null && typeof message.model === 'string')
            this.model = message.model;
        if (this.systemFingerprint === null && typeof message.system_fingerprint === 'string') {
            this.systemFingerprint = message.system_fingerprint;
        }
        if (stream_state_isObject(message.usage))
            this.takeUsage(message.usage);
        if (stream_state_isObject(message.timings))
            this.timings = message.timings;
        if (Array.isArray(message.choices))
            this.takeChoices(message.choices);
    }
    takeUsage(usage) {
        if (typeof usage.prompt_tokens === 'number')
            this.promptTokens = usage.prompt_tokens;
        if (typeof usage.completion_tokens === 'number')
            this.completionTokens = usage.completion_tokens;
    }
    takeChoices(choices) {
        let bearsToken = false;
        for (const choice of choices) {
            if (!stream_state_isObject(choice))
                continue;
            if (carriesToken(choice.delta))
                bearsToken = true;
            if (typeof choice.finish_reason === 'string')
                this.finishReason = choice.finish_reason;
        }
        if (bearsToken)
            this.token();
    }
    token() {
        const at = this.readAt;
        if (this.lastTokenAt !== null)
            this.interTokenMs.push(at - this.lastTokenAt);
        else
            this.firstTokenAt = at;
        this.lastTokenAt = at;
        this.tokenChunks++;
    }
}
/** Non-empty content, reasoning or tool call delta; role-only and empty deltas are not tokens. */
function carriesToken(delta) {
    if (!stream_state_isObject(delta))
        return false;
    return (nonEmpty(delta.content) ||
        nonEmpty(delta.reasoning_content) ||
        nonEmpty(delta.reasoning) ||
        (Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0));
}
/** The message of an error as servers send it: `{error: {message}}`, `{message}` or plain text. */
function serverMessage(text) {
    const parsed = parseObject(text);
    if (parsed === null)
        return text;
    return messageOf(parsed.error ?? parsed);
}
function messageOf(error) {
    if (typeof error === 'string')
        return error;
    if (stream_state_isObject(error)) {
        if (typeof error.message === 'string')
            return error.message;
        if (stream_state_isObject(error.error))
            return messageOf(error.error);
    }
    return JSON.stringify(error);
}
function excerpt(text) {
    const flat = text.replace(/\s+/g, ' ').trim();
    return flat.length <= MAX_MESSAGE ? flat : `${flat.slice(0, MAX_MESSAGE - 1)}…`;
}
function parseObject(text) {
    try {
        const value = JSON.parse(text);
        return stream_state_isObject(value) ? value : null;
    }
    catch {
        return null;
    }
}
function nonEmpty(value) {
    return typeof value === 'string' && value.length > 0;
}
function stream_state_isObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

;// CONCATENATED MODULE: ./src/engine/client.ts
/**
 * The streaming client. It talks to undici's dispatcher directly (no Readable, no async
 * iteration) so each read is stamped in the data callback, before any parsing, and the client
 * adds as little work per chunk as possible.
 */





/** Bytes kept of a non-stream body (an error or a JSON completion). */
const MAX_BODY_BYTES = 1 << 20;
class StreamClient {
    request;
    options;
    agent;
    url;
    headers;
    constructor(request, options) {
        this.request = request;
        this.options = options;
        this.url = endpointUrl(request.serverUrl, 'chat/completions');
        this.headers = requestHeaders(request);
        this.agent = new undici/* Agent */.g6({
            connections: options.connections,
            pipelining: 1,
            // Our own per-request timer enforces requestTimeoutMs; a busy server may hold the
            // headers back while the request waits for a slot, so they get the same allowance.
            headersTimeout: request.requestTimeoutMs,
            bodyTimeout: 0,
            connect: { timeout: 30_000 }
        });
    }
    now() {
        return external_node_perf_hooks_.performance.now() - this.options.origin;
    }
    send(body, meta) {
        const handler = new ResponseHandler(meta, this.options.origin, this.request.requestTimeoutMs);
        const dispatchOptions = {
            origin: this.url.origin,
            path: this.url.pathname + this.url.search,
            method: 'POST',
            headers: this.headers,
            body
        };
        handler.start();
        this.agent.dispatch(dispatchOptions, handler);
        return handler;
    }
    async close() {
        await this.agent.close();
    }
}
function requestHeaders(request) {
    const headers = {
        'content-type': 'application/json',
        accept: 'text/event-stream'
    };
    if (request.apiKey)
        headers.authorization = `Bearer ${request.apiKey}`;
    return { ...headers, ...request.headers };
}
class ResponseHandler {
    meta;
    origin;
    timeoutMs;
    record;
    resolve;
    state = new StreamState();
    parser = new SseParser(this.state);
    controller = null;
    settled = false;
    timer = null;
    /** Dispatch time until undici starts writing the request (see onRequestStart). */
    sentAt = 0;
    status = null;
    mode = 'sse';
    contentType = '';
    body = [];
    bodyBytes = 0;
    constructor(meta, origin, timeoutMs) {
        this.meta = meta;
        this.origin = origin;
        this.timeoutMs = timeoutMs;
        this.record = new Promise(resolve => (this.resolve = resolve));
    }
    /**
     * The request is handed to undici. The timeout runs from here (time queued for a connection
     * counts against it); `sentAt` is only provisional: a request that never gets written (e.g.
     * connection refused) keeps this time.
     */
    start() {
        this.sentAt = external_node_perf_hooks_.performance.now() - this.origin;
        this.timer = setTimeout(() => this.cut('timeout', `no complete response within ${this.timeoutMs / 1000} s`), this.timeoutMs);
    }
    cut(errorClass, message) {
        if (this.settled)
            return;
        this.state.fail(errorClass, message);
        this.settle(external_node_perf_hooks_.performance.now() - this.origin);
    }
    /**
     * undici calls this synchronously just before it writes the request on a socket, so this is
     * where the request is sent. Stamping at dispatch instead would count client-side queueing in
     * TTFT and latency: waiting for a free connection, and the event-loop turn (setImmediate)
     * undici waits before it reuses a kept-alive socket. In the open loop, `sentAt − scheduledAt`
     * is then the client's true lateness.
     */
    onRequestStart(controller) {
        this.controller = controller;
        if (this.settled)
            return controller.abort(new Error('request ended'));
        this.sentAt = external_node_perf_hooks_.performance.now() - this.origin;
    }
    onResponseStart(controller, statusCode, headers) {
        this.status = statusCode;
        const type = headers['content-type'];
        this.contentType = (Array.isArray(type) ? type[0] : type) ?? '';
        if (statusCode < 200 || statusCode > 299)
            this.mode = 'error';
        else if (!isEventStream(this.contentType))
            this.mode = 'other';
    }
    onResponseData(controller, chunk) {
        const at = external_node_perf_hooks_.performance.now() - this.origin;
        if (this.settled)
            return;
        if (this.mode !== 'sse')
            return this.keep(chunk);
        this.state.readAt = at;
        this.parser.feed(chunk);
        if (this.state.error !== null)
            this.settle(at);
    }
    onResponseEnd() {
        const at = external_node_perf_hooks_.performance.now() - this.origin;
        if (this.settled)
            return;
        if (this.mode === 'sse') {
            this.parser.end();
            this.state.endOfBody();
        }
        else if (this.mode === 'other')
            this.takeOtherBody();
        else
            this.state.fail('http', `HTTP ${this.status}: ${serverMessage(this.bodyText())}`);
        this.settle(at);
    }
    onResponseError(controller, error) {
        const at = external_node_perf_hooks_.performance.now() - this.origin;
        if (this.settled)
            return;
        this.state.fail(this.classify(error), describe(error));
        this.settle(at);
    }
    classify(error) {
        const code = error.code;
        if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT')
            return 'timeout';
        // Once the response has started, a dropped connection cuts the stream short.
        return this.status === null ? 'connection' : 'cut-off';
    }
    keep(chunk) {
        if (this.bodyBytes >= MAX_BODY_BYTES)
            return;
        this.body.push(Buffer.from(chunk));
        this.bodyBytes += chunk.length;
    }
    bodyText() {
        return Buffer.concat(this.body).toString('utf8');
    }
    /**
     * A 2xx body that is not an event stream: JSON when the server ignored `stream: true` (its
     * usage and finish reason are kept), or e.g. an HTML page from a proxy or a wrong URL.
     */
    takeOtherBody() {
        const text = this.bodyText();
        if (this.contentType.includes('json'))
            this.takeJson(text);
        this.state.fail('invalid-response', `expected an event stream but got ${this.contentType}: ${excerpt(text) || '(empty body)'}`);
    }
    takeJson(text) {
        try {
            const message = JSON.parse(text);
            if (typeof message === 'object' && message !== null && !Array.isArray(message)) {
                this.state.takeMessage(message);
            }
        }
        catch {
            // reported by the caller
        }
    }
    settle(endAt) {
        if (this.settled)
            return;
        this.settled = true;
        if (this.timer !== null)
            clearTimeout(this.timer);
        if (this.controller !== null && this.state.error !== null) {
            this.controller.abort(new Error(this.state.error.message));
        }
        this.resolve(this.toRecord(endAt));
    }
    toRecord(endAt) {
        return streamRecord(this.meta, this.state, this.status, this.sentAt, endAt);
    }
}
/** The record of a request from what its stream said and when it was sent and ended. */
function streamRecord(meta, s, status, sentAt, endAt) {
    // Without usage, token-bearing chunks are the best count (one token each on llama.cpp).
    const estimated = s.completionTokens === null && (s.error === null || s.tokenChunks > 0);
    return {
        id: meta.id,
        vu: meta.vu,
        promptIndex: meta.promptIndex,
        phase: meta.phase,
        scheduledAt: meta.scheduledAt,
        sentAt,
        firstTokenAt: s.firstTokenAt,
        lastTokenAt: s.lastTokenAt,
        endAt,
        status,
        promptTokens: s.promptTokens,
        completionTokens: estimated ? s.tokenChunks : s.completionTokens,
        completionTokensEstimated: estimated,
        chunks: s.chunks,
        tokenChunks: s.tokenChunks,
        interTokenMs: s.interTokenMs,
        finishReason: s.finishReason,
        error: s.error,
        model: s.model,
        systemFingerprint: s.systemFingerprint,
        timings: s.timings
    };
}
/**
 * A missing content type counts as a stream: some servers omit it, and a body that is not SSE
 * still fails (as a cut-off or invalid event) instead of being silently accepted.
 */
function isEventStream(contentType) {
    if (contentType === '')
        return true;
    return contentType.split(';')[0].trim().toLowerCase() === 'text/event-stream';
}
function describe(error) {
    const code = error.code;
    const cause = error.cause;
    const causeCode = cause?.code ?? '';
    return [code ?? causeCode, error.message].filter(Boolean).join(': ');
}

;// CONCATENATED MODULE: ./src/engine/lag.ts
/**
 * Event-loop lag of the benchmarking process: a timer that should fire every `intervalMs`
 * records how late it actually fired. High lag means the client, not the server, set the pace.
 */

function sampleEventLoopLag(intervalMs = 50) {
    const samples = [];
    let expected = external_node_perf_hooks_.performance.now() + intervalMs;
    const timer = setInterval(() => {
        const now = external_node_perf_hooks_.performance.now();
        samples.push(Math.max(0, now - expected));
        expected = now + intervalMs;
    }, intervalMs);
    timer.unref();
    return {
        stop() {
            clearInterval(timer);
            return samples;
        }
    };
}

;// CONCATENATED MODULE: ./src/engine/request-body.ts
/**
 * The chat completion body of llama.cpp's k6 server benchmark: a system and a user message,
 * streamed, with usage requested in the stream. `extraBody` goes last so a user can override
 * any field (e.g. drop `stream_options` for a server that rejects it).
 */
function buildRequestBody(request, prompt) {
    const body = {
        messages: [
            { role: 'system', content: request.systemPrompt },
            { role: 'user', content: prompt }
        ],
        model: request.model,
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: request.maxTokens,
        stop: request.stop
    };
    if (request.seed !== null)
        body.seed = request.seed;
    return { ...body, ...request.extraBody };
}

;// CONCATENATED MODULE: ./src/engine/thresholds.ts
class OutcomeCounts {
    /** Measured requests that ended on their own (cut ones are the run's doing, not the server's). */
    finished = 0;
    errors = 0;
    /** Successful completions, and those of them stopped by max_tokens. */
    completions = 0;
    truncated = 0;
    add(record) {
        if (record.phase !== 'measured' || record.error?.class === 'cut-by-run-end')
            return;
        this.finished++;
        if (record.error !== null)
            this.errors++;
        else {
            this.completions++;
            if (record.finishReason === 'length')
                this.truncated++;
        }
    }
}
/** The one-line reason to abort, or null. Thresholds of 1 (or more) never trigger. */
function abortReason(counts, load, measuredMs) {
    if (measuredMs < load.abortAfterMs)
        return null;
    const after = `after ${formatSeconds(measuredMs)} s of measured time`;
    if (load.abortTruncatedRate < 1 && counts.completions > 0) {
        const rate = counts.truncated / counts.completions;
        if (rate > load.abortTruncatedRate) {
            return (`${thresholds_percent(rate)} of completions were truncated (finish_reason 'length', ${counts.truncated} of ` +
                `${counts.completions}), above abort-truncated-rate ${thresholds_percent(load.abortTruncatedRate)} ${after}; ` +
                `raise max-tokens or lower the prompt filters`);
        }
    }
    if (load.abortErrorRate < 1 && counts.finished > 0) {
        const rate = counts.errors / counts.finished;
        if (rate > load.abortErrorRate) {
            return (`${thresholds_percent(rate)} of requests failed (${counts.errors} of ${counts.finished}), above ` +
                `abort-error-rate ${thresholds_percent(load.abortErrorRate)} ${after}`);
        }
    }
    return null;
}
function thresholds_percent(fraction) {
    return `${Math.round(fraction * 1000) / 10}%`;
}
function formatSeconds(ms) {
    return (Math.round(ms / 100) / 10).toString();
}

;// CONCATENATED MODULE: ./src/engine/load.ts
/**
 * The load generators. Closed loop (rate = 0), as llama.cpp's k6 script: `concurrency` virtual
 * users each send a request, read it to the end, think, and go again. Open loop (rate > 0):
 * Poisson arrivals from a seeded PRNG, optionally capped in flight. Server trouble never throws:
 * it becomes records with errors, and an abort threshold or the caller's signal ends the run
 * with every record measured so far.
 */







async function runLoad(options) {
    validate(options);
    return new LoadRun(options).execute();
}
function validate({ settings, prompts }) {
    const load = settings.load;
    if (prompts.length === 0)
        throw new Error('runLoad needs at least one prompt');
    if (!(load.rate >= 0))
        throw new Error(`load.rate must be >= 0, got ${load.rate}`);
    if (load.rate === 0 && !(load.concurrency >= 1)) {
        throw new Error(`closed loop needs load.concurrency >= 1, got ${load.concurrency}`);
    }
    if (!(load.durationMs > 0))
        throw new Error(`load.durationMs must be > 0, got ${load.durationMs}`);
}
class LoadRun {
    options;
    origin = external_node_perf_hooks_.performance.now();
    startedAt = new Date();
    settings;
    client;
    records = [];
    inFlight = new Set();
    /** Sleepers, woken early only when the run stops. */
    sleepers = new Set();
    /** Waiters for a slot, woken at every completed request and at the stop. */
    waiters = new Set();
    bodies = [];
    counts = new OutcomeCounts();
    progress = new ProgressTotals();
    timers = [];
    nextId = 0;
    phase = 'warmup';
    measuredStart = 0;
    stopped = null;
    constructor(options) {
        this.options = options;
        this.settings = options.settings;
        const load = this.settings.load;
        const cap = load.concurrency;
        this.client = new StreamClient(this.settings.request, {
            origin: this.origin,
            // Never let the pool limit the configured concurrency; an uncapped open loop is unlimited.
            connections: cap > 0 ? cap : null
        });
    }
    async execute() {
        const lag = sampleEventLoopLag();
        const { signal } = this.options;
        const onAbort = () => this.stop('cancelled', cancelReason(signal?.reason));
        if (signal?.aborted)
            onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        this.startProgress();
        try {
            await this.warmup();
            if (this.stopped === null)
                await this.measure();
        }
        finally {
            signal?.removeEventListener('abort', onAbort);
            for (const timer of this.timers)
                clearTimeout(timer);
            await this.client.close();
        }
        return this.result(lag.stop());
    }
    result(eventLoopLagMs) {
        const requests = this.records.sort((a, b) => a.id - b.id);
        const withModel = requests.find(r => r.model !== null);
        const withFingerprint = requests.find(r => r.systemFingerprint !== null);
        return {
            status: this.stopped?.status ?? 'completed',
            reason: this.stopped?.reason ?? null,
            requests,
            eventLoopLagMs,
            startedAt: this.startedAt,
            endedAt: new Date(),
            model: withModel?.model ?? null,
            systemFingerprint: withFingerprint?.systemFingerprint ?? null
        };
    }
    async warmup() {
        const load = this.settings.load;
        if (load.warmupRequests <= 0)
            return;
        this.options.log.info(`warmup: ${load.warmupRequests} requests`);
        const users = Math.max(1, load.concurrency);
        await this.virtualUsers(users, 'warmup', this.claimer(load.warmupRequests));
    }
    async measure() {
        const load = this.settings.load;
        this.phase = 'measured';
        this.measuredStart = this.now();
        this.progress.reset();
        this.later(load.durationMs, () => this.stop('completed', null));
        this.later(load.abortAfterMs, () => this.checkThresholds());
        const limit = load.requests > 0 ? `, at most ${load.requests} requests` : '';
        if (load.rate > 0) {
            const cap = load.concurrency > 0 ? `, at most ${load.concurrency} in flight` : '';
            this.options.log.info(`open loop: ${load.rate} requests/s for ${load.durationMs / 1000} s${cap}${limit}`);
            await this.openLoop();
        }
        else {
            this.options.log.info(`closed loop: ${load.concurrency} virtual users for ${load.durationMs / 1000} s${limit}`);
            await this.virtualUsers(load.concurrency, 'measured', this.claimer(load.requests));
        }
    }
    /** Hands out `limit` sends (0 = unlimited) until the run stops. */
    claimer(limit) {
        let taken = 0;
        const hasMore = () => this.stopped === null && (limit === 0 || taken < limit);
        return { hasMore, take: () => hasMore() && ++taken > 0 };
    }
    async virtualUsers(count, phase, claimer) {
        const think = phase === 'measured' || this.settings.load.rate === 0 ? this.settings.load.thinkTimeMs : 0;
        const user = async (vu) => {
            while (claimer.take()) {
                await this.send(phase, vu, null);
                if (think > 0 && claimer.hasMore())
                    await this.sleep(think);
            }
        };
        await Promise.all(Array.from({ length: count }, (_, vu) => user(vu)));
    }
    async openLoop() {
        const load = this.settings.load;
        const claimer = this.claimer(load.requests);
        const arrivals = poissonArrivals(load.rate, load.arrivalSeed);
        while (claimer.hasMore()) {
            const scheduledAt = this.measuredStart + arrivals.next().value;
            // Timers may fire a fraction of a millisecond early: never send before the schedule.
            while (this.stopped === null && this.now() < scheduledAt) {
                await this.sleep(Math.max(1, scheduledAt - this.now()));
            }
            while (load.concurrency > 0 &&
                this.inFlight.size >= load.concurrency &&
                this.stopped === null) {
                await this.nextWake();
            }
            if (!claimer.take())
                break;
            void this.send('measured', null, scheduledAt);
        }
        while (this.inFlight.size > 0)
            await this.nextWake();
    }
    async send(phase, vu, scheduledAt) {
        const id = this.nextId++;
        const promptIndex = id % this.options.prompts.length;
        const request = this.client.send(this.body(promptIndex), {
            id,
            vu,
            promptIndex,
            phase,
            scheduledAt
        });
        this.inFlight.add(request);
        this.progress.sent++;
        const record = await request.record;
        this.inFlight.delete(request);
        this.records.push(record);
        this.progress.add(record);
        this.counts.add(record);
        if (record.phase === 'measured')
            this.checkThresholds();
        this.wake(this.waiters);
    }
    /** JSON bodies are built once per prompt, so sending costs no serialisation on the hot path. */
    body(promptIndex) {
        let body = this.bodies[promptIndex];
        if (body === undefined) {
            const prompt = this.options.prompts[promptIndex].prompt;
            body = JSON.stringify(buildRequestBody(this.settings.request, prompt));
            this.bodies[promptIndex] = body;
        }
        return body;
    }
    checkThresholds() {
        if (this.stopped !== null || this.phase !== 'measured')
            return;
        const reason = abortReason(this.counts, this.settings.load, this.now() - this.measuredStart);
        if (reason === null)
            return;
        this.options.log.warning(`aborting the run: ${reason}`);
        this.stop('aborted', reason);
    }
    /** Stops issuing requests; those in flight get the grace period, then are cut. */
    stop(status, reason) {
        if (this.stopped !== null)
            return;
        this.stopped = { status, reason };
        this.wake(this.sleepers);
        this.wake(this.waiters);
        const graceMs = this.settings.load.graceMs;
        if (this.inFlight.size > 0) {
            this.options.log.info(`waiting up to ${graceMs / 1000} s for ${plural(this.inFlight.size, 'request')} in flight`);
        }
        this.later(graceMs, () => {
            for (const request of this.inFlight) {
                request.cut('cut-by-run-end', `still running ${graceMs / 1000} s after the run ended`);
            }
        });
    }
    startProgress() {
        const { onProgress, progressIntervalMs = 2000 } = this.options;
        if (onProgress === undefined)
            return;
        const timer = setInterval(() => onProgress(this.snapshot()), progressIntervalMs);
        timer.unref();
        this.timers.push(timer);
    }
    snapshot() {
        const p = this.progress;
        return {
            elapsedMs: this.now(),
            sent: p.sent,
            done: p.done,
            errors: p.errors,
            inFlight: this.inFlight.size,
            ttftMsAvg: p.ttftN > 0 ? p.ttftSum / p.ttftN : null,
            decodeRateAvg: p.decodeN > 0 ? p.decodeSum / p.decodeN : null,
            phase: this.phase
        };
    }
    /** Sleeps `ms`, or less when the run stops. */
    sleep(ms) {
        if (this.stopped !== null || ms <= 0)
            return Promise.resolve();
        return new Promise(resolve => {
            const done = () => {
                clearTimeout(timer);
                this.sleepers.delete(done);
                resolve();
            };
            const timer = setTimeout(done, ms);
            this.sleepers.add(done);
        });
    }
    /** Resolves at the next completed request or stop. */
    nextWake() {
        return new Promise(resolve => {
            const done = () => {
                this.waiters.delete(done);
                resolve();
            };
            this.waiters.add(done);
        });
    }
    wake(set) {
        for (const wake of [...set])
            wake();
    }
    later(ms, fn) {
        this.timers.push(setTimeout(fn, ms));
    }
    now() {
        return external_node_perf_hooks_.performance.now() - this.origin;
    }
}
/** Running totals behind the progress line, so a snapshot costs nothing per record. */
class ProgressTotals {
    sent = 0;
    done = 0;
    errors = 0;
    ttftSum = 0;
    ttftN = 0;
    decodeSum = 0;
    decodeN = 0;
    reset() {
        Object.assign(this, {
            sent: 0,
            done: 0,
            errors: 0,
            ttftSum: 0,
            ttftN: 0,
            decodeSum: 0,
            decodeN: 0
        });
    }
    add(record) {
        this.done++;
        if (record.error !== null) {
            this.errors++;
            return;
        }
        if (record.firstTokenAt !== null) {
            this.ttftSum += record.firstTokenAt - record.sentAt;
            this.ttftN++;
        }
        const tokens = record.completionTokens ?? record.tokenChunks;
        if (record.firstTokenAt !== null && record.lastTokenAt !== null && tokens > 1) {
            const span = record.lastTokenAt - record.firstTokenAt;
            if (span > 0) {
                this.decodeSum += ((tokens - 1) / span) * 1000;
                this.decodeN++;
            }
        }
    }
}
/**
 * Why the run was cancelled. A bare `abort()` (what the CLI and the action do on SIGINT or
 * SIGTERM) carries an AbortError whose text, "This operation was aborted", explains nothing.
 */
function cancelReason(reason) {
    // By name: a DOMException from another realm (e.g. a test's) is no `instanceof Error`.
    const bare = reason === undefined || reason?.name === 'AbortError';
    return bare ? 'cancelled by the user (SIGINT/SIGTERM)' : `cancelled: ${errorMessage(reason)}`;
}
function plural(count, noun) {
    return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

;// CONCATENATED MODULE: ./src/engine/readiness.ts
/**
 * Waits for the server to be ready: a llama-server answers 503 "Loading model" while it loads,
 * and nothing at all before it listens. Polls `GET {base}/models`, then the root `/health`.
 */






const POLL_MS = 500;
const LOG_EVERY_MS = 5_000;
const ATTEMPT_TIMEOUT_MS = 10_000;
/** Shortest probe: near the deadline a last probe still gets a fair chance to connect. */
const MIN_ATTEMPT_MS = 100;
async function waitForServer(request, timeoutMs, log, signal) {
    const base = request.serverUrl.replace(/\/+$/, '');
    const shown = displayUrl(base);
    const agent = new undici/* Agent */.g6({
        connections: 1,
        headersTimeout: ATTEMPT_TIMEOUT_MS,
        bodyTimeout: ATTEMPT_TIMEOUT_MS
    });
    const started = Date.now();
    const wait = { deadline: started + timeoutMs, signal };
    let lastLog = started;
    let seen = 'nothing yet';
    try {
        for (;;) {
            const probe = await probeServer(agent, request, base, wait);
            // Checked after the probe, which a cancel cuts short: its outcome says nothing.
            if (signal?.aborted)
                throw new UserError(`cancelled while waiting for ${shown} (${seen})`);
            if (probe.ready)
                return {
                    url: shown,
                    models: probe.models,
                    model: null,
                    systemFingerprint: null,
                    software: probe.software
                };
            if (probe.auth) {
                throw new UserError(`${shown} refused the API key (${probe.seen}); check the api-key setting (the key is not shown)`);
            }
            seen = probe.seen;
            const elapsed = Date.now() - started;
            if (elapsed >= timeoutMs) {
                throw new UserError(`${shown} was not ready within ${seconds(timeoutMs)} s; last seen: ${seen}`);
            }
            if (Date.now() - lastLog >= LOG_EVERY_MS) {
                lastLog = Date.now();
                log.info(`waiting for ${shown} (${seen}), ${seconds(elapsed)} s of ${seconds(timeoutMs)} s`);
            }
            await (0,promises_.setTimeout)(Math.min(POLL_MS, timeoutMs - elapsed), undefined, { signal }).catch(() => undefined);
        }
    }
    finally {
        await agent.close();
    }
}
async function probeServer(agent, request, base, wait) {
    const models = await probe(agent, request, endpointUrl(base, 'models').href, wait);
    if (models.ready || !models.missing)
        return models;
    // No /models route: fall back to llama-server's root /health.
    const health = await probe(agent, request, new URL('/health', base).href, wait);
    return health.ready || !health.missing ? health : models;
}
/**
 * A probe may not outlast the wait (a server that never answers must not stretch it) and ends
 * when the caller cancels.
 */
function attemptSignal(wait) {
    const ms = Math.min(ATTEMPT_TIMEOUT_MS, Math.max(MIN_ATTEMPT_MS, wait.deadline - Date.now()));
    const timeout = AbortSignal.timeout(ms);
    return wait.signal === undefined ? timeout : AbortSignal.any([timeout, wait.signal]);
}
async function probe(agent, request, url, wait) {
    let response;
    try {
        response = await (0,undici/* request */.Em)(url, {
            method: 'GET',
            dispatcher: agent,
            headers: { ...requestHeaders(request), accept: 'application/json' },
            signal: attemptSignal(wait)
        });
    }
    catch (error) {
        return { ready: false, seen: connectionProblem(error) };
    }
    const text = await response.body.text().catch(() => '');
    const status = response.statusCode;
    const software = headerValue(response.headers.server);
    if (status >= 200 && status < 300)
        return { ready: true, models: modelIds(text), software };
    const seen = `HTTP ${status}${text ? `: ${excerpt(serverMessage(text))}` : ''}`;
    if (status === 401 || status === 403)
        return { ready: false, seen, auth: true };
    return { ready: false, seen, missing: status === 404 || status === 405 };
}
function modelIds(text) {
    try {
        const parsed = JSON.parse(text);
        if (!Array.isArray(parsed.data))
            return [];
        return parsed.data.flatMap(model => (typeof model?.id === 'string' ? [model.id] : []));
    }
    catch {
        return [];
    }
}
function connectionProblem(error) {
    const err = error;
    const code = err.cause?.code ?? err.code;
    if (code === 'ECONNREFUSED')
        return 'connection refused';
    if (code === 'ECONNRESET' || code === 'UND_ERR_SOCKET')
        return 'connection reset';
    if (err.name === 'TimeoutError' || code?.includes('TIMEOUT'))
        return 'no answer';
    return code ?? err.message ?? String(error);
}
function headerValue(value) {
    return (Array.isArray(value) ? value[0] : value) ?? null;
}
/** The URL without credentials, for logs and results. */
function displayUrl(url) {
    try {
        const parsed = new URL(url);
        parsed.username = '';
        parsed.password = '';
        return parsed.href.replace(/\/+$/, '');
    }
    catch {
        return url;
    }
}
function seconds(ms) {
    return Math.round(ms / 1000);
}

// EXTERNAL MODULE: external "node:child_process"
var external_node_child_process_ = __webpack_require__(1421);
// EXTERNAL MODULE: external "node:os"
var external_node_os_ = __webpack_require__(8161);
var external_node_os_default = /*#__PURE__*/__webpack_require__.n(external_node_os_);
// EXTERNAL MODULE: external "node:util"
var external_node_util_ = __webpack_require__(7975);
;// CONCATENATED MODULE: ./src/results/runner.ts



const execFileAsync = (0,external_node_util_.promisify)(external_node_child_process_.execFile);
/** What machine ran the benchmark: the client's, which on a runner is also the server's. */
async function collectRunnerFacts() {
    const cpus = external_node_os_default().cpus();
    return {
        os: `${external_node_os_default().type()} ${external_node_os_default().release()}`,
        arch: external_node_os_default().arch(),
        cpu: cpus[0]?.model.trim() ?? 'unknown',
        cores: external_node_os_default().availableParallelism(),
        memoryBytes: external_node_os_default().totalmem(),
        node: process.version,
        gpu: await detectGpu()
    };
}
/** The GPU name from nvidia-smi or rocm-smi when one is installed; null otherwise. */
async function detectGpu() {
    const probes = [
        ['nvidia-smi', ['--query-gpu=name', '--format=csv,noheader']],
        ['rocm-smi', ['--showproductname', '--csv']]
    ];
    for (const [command, args] of probes) {
        try {
            const { stdout } = await execFileAsync(command, args, { timeout: 5000 });
            const names = stdout
                .split('\n')
                .map(line => line.trim())
                .filter(line => line && !line.toLowerCase().startsWith('device'));
            if (names.length > 0)
                return [...new Set(names)].join(', ');
        }
        catch {
            // Not installed or no device: try the next probe.
        }
    }
    return null;
}

;// CONCATENATED MODULE: ./src/benchmark.ts
/**
 * One benchmark run, end to end: prompts from the dataset, a ready server, the load, the
 * summary. Shared by the CLI and the action. It never throws for trouble with the dataset or
 * the server: the returned results say what happened, and keep every request measured.
 */













/** More requests cut than this share means the load outran the server. */
const CUT_WARNING_SHARE = 0.1;
async function runBenchmark(options) {
    const { settings, signal } = options;
    // A server or dataset host may echo a key or a signed URL in its errors: scrub at the source.
    const secrets = secretsOf(settings);
    const log = scrubbingLogger(options.log, secrets);
    const startedAt = new Date();
    const state = { dataset: null, server: emptyServerFacts(settings), load: null };
    let failure = null;
    try {
        state.dataset = await prepareDataset(settings.dataset, log, signal);
        options.onDatasetReady?.(state.dataset);
        state.server = await waitForServer(settings.request, settings.load.readyTimeoutMs, log, signal);
        state.load = await runLoad({
            settings,
            prompts: state.dataset.prompts,
            log,
            signal,
            onProgress: options.onProgress
        });
    }
    catch (error) {
        failure = describeFailure(error, signal, log);
    }
    return scrubResults(await assembleResults(settings, startedAt, state, failure), secrets);
}
/**
 * Every string of the results a secret could reach: the settings, the URLs, what the server
 * sent, the error texts. Timestamps, hashes and the runner's facts are left as they are, so a
 * short secret of digits cannot garble a date.
 */
function scrubResults(results, secrets) {
    const scrub = (text) => scrubText(redactUrl(text), secrets);
    return {
        ...results,
        reason: results.reason === null ? null : scrub(results.reason),
        settings: scrubDeep(results.settings, secrets),
        fingerprint: { ...results.fingerprint, fields: scrubDeep(results.fingerprint.fields, secrets) },
        dataset: results.dataset && {
            ...results.dataset,
            source: scrub(results.dataset.source),
            path: results.dataset.path === null ? null : scrub(results.dataset.path)
        },
        server: scrubDeep({ ...results.server, url: redactUrl(results.server.url) }, secrets),
        requests: results.requests.map(record => record.error
            ? { ...record, error: { ...record.error, message: scrub(record.error.message) } }
            : record),
        warnings: results.warnings.map(scrub)
    };
}
async function assembleResults(settings, startedAt, state, failure) {
    const requests = state.load?.requests ?? [];
    const summary = summarize(requests, state.load?.eventLoopLagMs ?? []);
    const outcome = failure ?? judgeLoad(state.load, summary, requests);
    const server = {
        ...state.server,
        model: state.load?.model ?? state.server.model,
        systemFingerprint: state.load?.systemFingerprint ?? state.server.systemFingerprint
    };
    const datasetSha = state.dataset?.facts.sha256 ?? null;
    return {
        schema: RESULTS_SCHEMA,
        schemaVersion: RESULTS_SCHEMA_VERSION,
        tool: { name: 'llm-bench', version: TOOL_VERSION },
        status: outcome.status,
        reason: outcome.reason,
        startedAt: (state.load?.startedAt ?? startedAt).toISOString(),
        endedAt: (state.load?.endedAt ?? new Date()).toISOString(),
        settings: redactSettings(settings),
        fingerprint: settingsFingerprint(settings, datasetSha),
        dataset: state.dataset?.facts ?? null,
        server,
        runner: await collectRunnerFacts(),
        requests,
        summary,
        warnings: benchmark_collectWarnings(summary)
    };
}
/** A load that ran may still not be a benchmark: nothing measured, or every request failed. */
function judgeLoad(load, summary, requests) {
    if (!load)
        return { status: 'failed', reason: 'the load never started' };
    if (load.status !== 'completed')
        return { status: load.status, reason: load.reason };
    if (summary.requests.sent === 0) {
        return {
            status: 'failed',
            reason: 'no request was measured: the run ended before any was sent'
        };
    }
    if (summary.requests.succeeded === 0 && summary.requests.failed === 0) {
        return {
            status: 'failed',
            reason: `none of the ${summary.requests.sent} measured requests finished before the run ended and its grace period ran out`
        };
    }
    if (summary.requests.succeeded === 0) {
        const first = requests.find(r => r.phase === 'measured' && r.error)?.error;
        const detail = first ? `; the first error (${first.class}): ${first.message}` : '';
        return {
            status: 'failed',
            reason: `every one of the ${summary.requests.sent} measured requests failed${detail}`
        };
    }
    return { status: 'completed', reason: null };
}
function describeFailure(error, signal, log) {
    if (signal?.aborted)
        return { status: 'cancelled', reason: 'cancelled before the load started' };
    if (!(error instanceof UserError)) {
        log.debug(error instanceof Error ? (error.stack ?? error.message) : String(error));
    }
    return { status: 'failed', reason: errorMessage(error) };
}
function benchmark_collectWarnings(summary) {
    const warnings = [];
    if (summary.client.bottleneck) {
        const lag = summary.client.event_loop_lag;
        warnings.push(`The benchmarking client was a bottleneck (event-loop lag p99 ${lag.p99?.toFixed(1)} ms, ` +
            `max ${lag.max?.toFixed(1)} ms): its timings may include its own delay. ` +
            'Lower the concurrency or give the client a machine of its own.');
    }
    const { sent, cut } = summary.requests;
    if (sent > 0 && cut / sent > CUT_WARNING_SHARE) {
        warnings.push(`${cut} of ${sent} measured requests (${Math.round((cut / sent) * 100)}%) were still running ` +
            'when the run ended and were cut: the server could not keep up with this load, and the ' +
            "figures describe only the requests that finished. Lower 'rate' or 'concurrency', or " +
            "lengthen 'grace-period'.");
    }
    if (summary.totals.completion_tokens_estimated) {
        warnings.push('The server sent no usage for some requests: their completion tokens were counted from ' +
            'the streamed chunks. Send stream_options.include_usage or use a server that reports usage.');
    }
    return warnings;
}
function emptyServerFacts(settings) {
    return {
        url: settings.request.serverUrl,
        models: [],
        model: null,
        systemFingerprint: null,
        software: null
    };
}
/**
 * Written through a temporary name in the same directory (a rename across file systems fails),
 * so a reader never sees half a file; the temporary file is removed when anything fails.
 * `checkOutputFile` has already refused a directory, a FIFO or a device before the run.
 */
async function writeResultsFile(file, results) {
    const target = external_node_path_default().resolve(file);
    await (0,external_node_fs_promises_.mkdir)(external_node_path_default().dirname(target), { recursive: true });
    const temporary = external_node_path_default().join(external_node_path_default().dirname(target), `.${external_node_path_default().basename(target)}.${process.pid}.${Date.now()}.tmp`);
    try {
        await (0,external_node_fs_promises_.writeFile)(temporary, JSON.stringify(results, null, 2) + '\n', { flag: 'wx' });
        await (0,external_node_fs_promises_.rename)(temporary, target);
    }
    catch (error) {
        await (0,external_node_fs_promises_.rm)(temporary, { force: true });
        throw error;
    }
}

;// CONCATENATED MODULE: ./src/results/output-file.ts
/**
 * Output paths are checked before a run, not after it: a path that cannot be written would
 * otherwise lose every measured request of a run that may have taken an hour.
 */



const REGULAR_FILE_RULE = 'a regular file path (not a directory or device)';
/**
 * Throws a UserError naming `input` unless `file` can be written as a regular file: when it
 * exists it is a regular file, and the nearest existing ancestor is a writable directory (the
 * missing ones are created on write). A symbolic link is refused even when it points at a
 * regular file: the writer renames a new file over the link rather than writing through it,
 * and a link committed in a pull request must not aim our write at a file outside the output.
 */
function checkOutputFile(input, file) {
    if (file === '')
        throw errors_invalidInput(input, file, 'a file path');
    const target = external_node_path_default().resolve(file);
    const existing = lstatOrNull(target);
    if (existing?.isSymbolicLink()) {
        throw errors_invalidInput(input, file, 'a regular file path (not a symbolic link)');
    }
    if (existing && !existing.isFile())
        throw errors_invalidInput(input, file, REGULAR_FILE_RULE);
    checkWritableAncestor(input, file, external_node_path_default().dirname(target));
}
function checkWritableAncestor(input, file, start) {
    let directory = start;
    let stats = statOrNull(directory);
    while (!stats && external_node_path_default().dirname(directory) !== directory) {
        directory = external_node_path_default().dirname(directory);
        stats = statOrNull(directory);
    }
    if (!stats?.isDirectory()) {
        throw errors_invalidInput(input, file, `a path under a directory, but ${directory} is not one`);
    }
    try {
        (0,external_node_fs_.accessSync)(directory, external_node_fs_.constants.W_OK);
    }
    catch {
        throw errors_invalidInput(input, file, `a path in a writable directory, but ${directory} is not`);
    }
}
function lstatOrNull(file) {
    try {
        return (0,external_node_fs_.lstatSync)(file);
    }
    catch {
        return null;
    }
}
/** Follows links: an ancestor that is a link to a directory (macOS's /tmp) is a directory. */
function statOrNull(file) {
    try {
        return (0,external_node_fs_.statSync)(file);
    }
    catch {
        return null;
    }
}

;// CONCATENATED MODULE: ./src/cli/options.ts
/**
 * The `run` command's flags: one per setting, named like the action's inputs, plus the
 * environment variables of llama.cpp's k6 script so its users switch without changes.
 */

const RUN_FLAGS = [
    {
        name: 'server-url',
        value: 'url',
        description: 'OpenAI-compatible API base URL (default: http://localhost:8080/v1)'
    },
    { name: 'model', value: 'name', description: 'model sent in each request (default: my-model)' },
    {
        name: 'api-key',
        value: 'key',
        description: 'sent as a bearer token; prefer the LLM_BENCH_API_KEY environment variable'
    },
    {
        name: 'dataset',
        value: 'path|url',
        description: 'ShareGPT JSON file or URL (default: the full ShareGPT V3 set, downloaded once)'
    },
    { name: 'dataset-sha256', value: 'hex', description: 'expected SHA-256 of the dataset file' },
    {
        name: 'cache-dir',
        value: 'dir',
        description: 'where downloads and prepared prompts are kept (default: .llm-bench/cache)'
    },
    {
        name: 'n-prompts',
        value: 'n',
        description: 'prompts kept after filtering, in file order (default: 480)'
    },
    { name: 'min-turns', value: 'n', description: 'minimum turns in a conversation (default: 2)' },
    {
        name: 'min-tokens',
        value: 'n',
        description: 'minimum pseudo-tokens of prompt and of answer (default: 4)'
    },
    {
        name: 'max-prompt-tokens',
        value: 'n',
        description: 'maximum pseudo-tokens of a prompt (default: 1024)'
    },
    {
        name: 'max-context',
        value: 'n',
        description: 'maximum pseudo-tokens of prompt + answer (default: 2048)'
    },
    {
        name: 'system-prompt',
        value: 'text',
        description: "system message (default: 'You are ChatGPT, an AI assistant.')"
    },
    { name: 'max-tokens', value: 'n', description: 'max_tokens of each request (default: 512)' },
    {
        name: 'stop',
        value: 'json|lines',
        description: 'stop strings: JSON array or one per line; \'none\' for none (default: ["<|im_end|>"])'
    },
    {
        name: 'seed',
        value: 'n|none',
        description: "seed sent in each request; 'none' to omit (default: 42)"
    },
    {
        name: 'extra-body',
        value: 'json',
        description: 'JSON object merged over the request body, e.g. {"temperature":0}'
    },
    { name: 'headers', value: 'lines', description: "extra headers, one 'Name: value' per line" },
    {
        name: 'request-timeout',
        value: 'duration',
        description: 'a request running longer fails (default: 10m)'
    },
    {
        name: 'concurrency',
        value: 'n',
        description: 'virtual users; with --rate, the cap on requests in flight, 0 for none (default: 8)'
    },
    {
        name: 'duration',
        value: 'duration',
        description: 'length of the measured phase, e.g. 90s, 10m (default: 10m)'
    },
    {
        name: 'requests',
        value: 'n',
        description: 'stop after this many measured requests; 0 for no limit (default: 0)'
    },
    {
        name: 'think-time',
        value: 'duration',
        description: "each virtual user's pause after a request (default: 300ms)"
    },
    {
        name: 'rate',
        value: 'rps',
        description: 'open loop: Poisson arrivals at this many requests/s (default: 0, closed loop)'
    },
    {
        name: 'arrival-seed',
        value: 'n',
        description: 'seed of the open-loop arrival times (default: 1)'
    },
    {
        name: 'warmup-requests',
        value: 'n',
        description: 'requests sent before measuring, not counted (default: 0)'
    },
    {
        name: 'ready-timeout',
        value: 'duration',
        description: 'how long to wait for the server to be ready (default: 10m)'
    },
    {
        name: 'grace-period',
        value: 'duration',
        description: 'how long requests in flight may finish after the duration (default: 30s)'
    },
    {
        name: 'abort-truncated-rate',
        value: 'fraction',
        description: 'abort when more completions are truncated (default: 0.8)'
    },
    {
        name: 'abort-error-rate',
        value: 'fraction',
        description: 'abort when more requests fail; 1 never aborts (default: 1)'
    },
    {
        name: 'abort-after',
        value: 'duration',
        description: 'abort thresholds apply after this much measured time (default: 60s)'
    }
];
/** llama.cpp's k6 script reads these; flags win over them. */
const SEED_ENVIRONMENT = {
    'server-url': 'SERVER_BENCH_URL',
    'n-prompts': 'SERVER_BENCH_N_PROMPTS',
    model: 'SERVER_BENCH_MODEL_ALIAS',
    dataset: 'SERVER_BENCH_DATASET',
    'max-tokens': 'SERVER_BENCH_MAX_TOKENS',
    'max-prompt-tokens': 'SERVER_BENCH_MAX_PROMPT_TOKENS',
    'max-context': 'SERVER_BENCH_MAX_CONTEXT',
    'api-key': 'LLM_BENCH_API_KEY'
};
/** The k6 script's default dataset file: used when it sits in the working folder. */
const SEED_DATASET_FILE = './ShareGPT_V3_unfiltered_cleaned_split.json';
/** Flags first, then the seed's environment variables, then the seed's local dataset file. */
function rawSettingsFrom(flags, env) {
    const raw = {};
    for (const { name } of RUN_FLAGS) {
        const variable = SEED_ENVIRONMENT[name];
        raw[name] = flags[options_camelCase(name)] ?? (variable ? env[variable] : undefined);
    }
    if (raw.dataset === undefined && (0,external_node_fs_.existsSync)(SEED_DATASET_FILE))
        raw.dataset = SEED_DATASET_FILE;
    return raw;
}
function options_camelCase(name) {
    return name.replace(/-([a-z0-9])/g, (_, letter) => letter.toUpperCase());
}

;// CONCATENATED MODULE: ./src/cli/run-command.ts






/** Settings from flags and the seed's environment, validated. */
function settingsFromFlags(flags) {
    return checkSettings(parseSettings(rawSettingsFrom(flags, process.env)));
}
/**
 * Runs one benchmark and writes its results file, also when the run fails or is cancelled
 * (Ctrl-C): whatever was measured is kept. Returns the results for the exit status.
 */
async function runAndReport(settings, options) {
    // Before the run: a path that cannot be written would lose every measured request.
    checkOutputFile('--out', options.out);
    // The banner shows the settings; a query value of the server URL may be a credential.
    const log = scrubbingLogger(options.log, secretsOf(settings));
    const controller = new AbortController();
    const cancel = () => {
        log.warning('interrupted: finishing the requests in flight, then writing the results');
        controller.abort();
    };
    process.once('SIGINT', cancel);
    process.once('SIGTERM', cancel);
    const progress = progressPrinter(options.stderr, settings.load.durationMs);
    try {
        const results = await runBenchmark({
            settings,
            log,
            signal: controller.signal,
            onProgress: progress.update,
            onDatasetReady: dataset => log.info(renderSettingsBanner(settings, dataset.facts))
        });
        progress.done();
        await writeResultsFile(options.out, results);
        options.stdout.write(renderTerminalSummary(results) + '\n');
        log.info(`results written to ${options.out}`);
        if (results.status !== 'completed')
            log.warning(outcomeLine(results));
        return results;
    }
    finally {
        process.off('SIGINT', cancel);
        process.off('SIGTERM', cancel);
    }
}
function progressPrinter(stream, durationMs) {
    const tty = 'isTTY' in stream && stream.isTTY === true;
    let lastPrinted = 0;
    let pending = false;
    return {
        update: (p) => {
            const line = renderProgressLine(p, durationMs);
            if (tty) {
                stream.write(`\r${line}\u001b[K`);
                pending = true;
            }
            else if (p.elapsedMs - lastPrinted >= 10_000 || lastPrinted === 0) {
                lastPrinted = Math.max(p.elapsedMs, 1);
                stream.write(line + '\n');
            }
        },
        done: () => {
            if (pending)
                stream.write('\n');
        }
    };
}
/** `run failed: …`, or the cancellation's own words, which already say what happened. */
function outcomeLine(results) {
    const reason = results.reason ?? 'no reason given';
    return reason.startsWith(results.status) ? reason : `run ${results.status}: ${reason}`;
}

;// CONCATENATED MODULE: ./src/cli/demo-command.ts







/** The bundled real ShareGPT sample, found beside the sources or the bundle. */
function bundledSamplePath() {
    const here = external_node_path_default().dirname((0,external_node_url_.fileURLToPath)(import.meta.url));
    const candidates = [
        external_node_path_default().resolve(here, '../../data/sharegpt-v3-sample50.json'),
        external_node_path_default().resolve(here, '../data/sharegpt-v3-sample50.json'),
        __webpack_require__.ab + "sharegpt-v3-sample50.json"
    ];
    const found = candidates.find(candidate => (0,external_node_fs_.existsSync)(candidate));
    if (!found)
        throw new Error(`the bundled sample is missing; looked in ${candidates.join(', ')}`);
    return found;
}
/**
 * The one-minute tour: the simulated server on loopback, the 47 real prompts of the bundled
 * sample, a short closed-loop run, the summary and the results file.
 */
async function runDemo(flags, options) {
    const sim = await startSimServer(parseSimOptions({ seed: flags.seed, timeScale: flags.timeScale }));
    options.log.info(`simulated server listening on ${sim.url}`);
    try {
        const settings = checkSettings(parseSettings({
            'server-url': sim.url,
            dataset: bundledSamplePath(),
            duration: flags.duration,
            concurrency: flags.concurrency,
            'ready-timeout': '30s',
            'grace-period': '10s'
        }));
        return await runAndReport(settings, options);
    }
    finally {
        await sim.close();
    }
}

;// CONCATENATED MODULE: ./src/cli/logger.ts
/**
 * The CLI's logger: messages go to stderr so that stdout carries only the report, and
 * `llm-bench run > report.txt` keeps it clean.
 */
function terminalLogger(options, stream = process.stderr) {
    const write = (line) => stream.write(line + '\n');
    return {
        info: message => write(message),
        debug: message => {
            if (options.verbose)
                write(`debug: ${message}`);
        },
        warning: message => write(`warning: ${message}`),
        group: async (title, fn) => {
            write(`── ${title}`);
            return fn();
        }
    };
}

;// CONCATENATED MODULE: ./src/cli/main.ts
/**
 * `llm-bench`: the engine on a laptop. `run` benchmarks a server, `demo` benchmarks the
 * built-in simulated server, `sim` starts that server alone, `compare` gates two results files.
 */









const DEFAULT_RESULTS_FILE = 'llm-bench-results.json';
function buildProgram() {
    const program = new commander/* Command */.uB('llm-bench')
        .description('Benchmark an OpenAI-compatible LLM inference server with real ShareGPT prompts.')
        .version(TOOL_VERSION)
        .showHelpAfterError()
        .exitOverride();
    const run = program
        .command('run')
        .description('benchmark a running server and write the results file')
        .option('--out <file>', 'results file to write', DEFAULT_RESULTS_FILE)
        .option('--verbose', 'show debug messages');
    for (const flag of RUN_FLAGS) {
        const variable = SEED_ENVIRONMENT[flag.name];
        const description = variable ? `${flag.description} [env: ${variable}]` : flag.description;
        run.addOption(new commander/* Option */.c$(`--${flag.name} <${flag.value}>`, description));
    }
    run.action(async (flags) => {
        const settings = settingsFromFlags(flags);
        const results = await runAndReport(settings, io(flags.out, flags.verbose === true));
        process.exitCode = results.status === 'completed' ? 0 : 1;
    });
    program
        .command('demo')
        .description('start the simulated server on loopback and benchmark it with the bundled ShareGPT sample')
        .option('--duration <duration>', 'measured phase', '20s')
        .option('--concurrency <n>', 'virtual users', '8')
        .option('--seed <n>', 'seed of the simulated server', '1')
        .option('--time-scale <factor>', 'run the simulated server this many times faster than real time', '2')
        .option('--out <file>', 'results file to write', DEFAULT_RESULTS_FILE)
        .option('--verbose', 'show debug messages')
        .action(async (flags) => {
        const results = await runDemo(flags, io(flags.out, flags.verbose === true));
        process.exitCode = results.status === 'completed' ? 0 : 1;
    });
    program
        .command('compare')
        .description('compare two results (or baseline) files; exits 1 when a gated metric regressed or the current run failed')
        .argument('<baseline>', 'results or baseline file of the reference run')
        .argument('<current>', 'results file of the run to judge')
        .option('--thresholds <text>', "gated metrics, one 'metric.statistic: limit' per line (default: the action's)")
        .option('--confidence <p>', 'confidence of the significance tests', '0.99')
        .action(async (baseline, current, flags) => {
        const regressed = await runCompare(baseline, current, flags, process.stdout);
        process.exitCode = regressed ? 1 : 0;
    });
    addSimCommand(program);
    return program;
}
function io(out, verbose) {
    return { out, log: terminalLogger({ verbose }), stdout: process.stdout, stderr: process.stderr };
}
async function main() {
    try {
        await buildProgram().parseAsync(process.argv);
    }
    catch (error) {
        if (error instanceof commander/* CommanderError */.b7) {
            // Help and version exit 0; a usage error is bad input (2), not a regression or a failed run (1).
            process.exitCode = error.exitCode === 0 ? 0 : 2;
            return;
        }
        const message = error instanceof UserError ? error.message : errorMessage(error);
        process.stderr.write(`llm-bench: ${message}\n`);
        if (!(error instanceof UserError) && process.env.LLM_BENCH_DEBUG) {
            process.stderr.write(`${error.stack}\n`);
        }
        process.exitCode = 2;
    }
}
async function runCli() {
    await main();
}


/***/ })

};

'use strict';
/**
 * Fake OpenAI/OpenRouter chat-completions server for tests and benchmarks.
 * Only node:http; listens on 127.0.0.1 only.
 *
 *   const fake = await startFakeOpenAI({ delayMs: 50 });
 *   process.env.LLM_BASE_URL = fake.url;   // e.g. http://127.0.0.1:PORT/api/v1
 *   ... fake.stats.requests, fake.stats.maxInFlight ...
 *   await fake.close();
 *
 * Options:
 *   port          listen port (default 0 = any free port)
 *   delayMs       delay before every answer (default 0)
 *   mode          default behaviour: 'ok' | '429' | '500' | 'hang' | 'badjson' | 'empty' | 'inject'
 *                 (also 'echoauth': 401 echoing the Authorization header, 'packed-missing',
 *                 'packed-invalid': packed answers lose / spoil their last element)
 *   retryAfterSec Retry-After header value sent with 429 (default 1; null = no header)
 *   faultRate     probability (0..1) that a request gets a random fault (default 0)
 *   seed          seed of the fault RNG (default 42), so runs are reproducible
 *   faultModes    modes drawn for random faults (default 429, 500, hang, badjson, empty, inject)
 *   failModels    requests whose body.model is listed get `failMode` (default '500')
 *   failMode      see failModels
 *   answer        (user, system) => string | undefined: the answer to a request whose mode is
 *                 'ok' (user and system: the two messages' texts); undefined gives the default
 *
 * Per-request precedence: script() queue, then failModels, then faultRate, then mode.
 * Default answer: "Standalone: <question>?" for the text inside <question>…</question>;
 * a packed request (user message starting with <items>) gets a fenced JSON array
 * [{"i":0,"question":"Standalone: …?"}, …]. A question containing NOT_A_REQUEST_MARKER
 * ("[smalltalk]") is answered NOT_A_QUESTION (not a request for help).
 * stats.modes records the mode each request got, in arrival order.
 *
 * Control endpoints (not counted as requests): GET /__stats, POST /__mode?mode=…
 */
const http = require('node:http');

const DEFAULT_FAULTS = ['429', '500', 'hang', 'badjson', 'empty', 'inject'];
const MODES = new Set([
  'ok', '429', '500', 'hang', 'badjson', 'empty', 'inject', 'echoauth', 'packed-missing', 'packed-invalid',
]);

// Small seeded PRNG (mulberry32).
function makeRng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function questionsIn(user) {
  const out = [];
  const re = /<question>([\s\S]*?)<\/question>/g;
  let m;
  while ((m = re.exec(user)) !== null) out.push(m[1].trim());
  return out;
}

function standalone(q) {
  return `Standalone: ${q.replace(/[?？]+$/u, '')}?`;
}

const NOT_A_REQUEST_MARKER = '[smalltalk]';

function answerTo(q) {
  return q.includes(NOT_A_REQUEST_MARKER) ? 'NOT_A_QUESTION' : standalone(q);
}

function checkMode(mode) {
  if (!MODES.has(mode)) throw new Error(`unknown fake-openai mode: ${mode}`);
  return mode;
}

async function startFakeOpenAI(opts = {}) {
  const cfg = {
    delayMs: opts.delayMs ?? 0,
    mode: checkMode(opts.mode ?? 'ok'),
    retryAfterSec: opts.retryAfterSec === undefined ? 1 : opts.retryAfterSec,
    faultRate: opts.faultRate ?? 0,
    faultModes: (opts.faultModes ?? DEFAULT_FAULTS).map(checkMode),
    failModels: new Set(opts.failModels ?? []),
    failMode: checkMode(opts.failMode ?? '500'),
  };
  const rng = makeRng(opts.seed ?? 42);
  const queue = [];
  const stats = { requests: 0, maxInFlight: 0, inFlight: 0, bodies: [], headers: [], arrivals: [], modes: [] };

  function pickMode(body) {
    if (queue.length > 0) return queue.shift();
    if (body && cfg.failModels.has(body.model)) return cfg.failMode;
    if (cfg.faultRate > 0 && rng() < cfg.faultRate) {
      return cfg.faultModes[Math.floor(rng() * cfg.faultModes.length)];
    }
    return cfg.mode;
  }

  function answerFor(body, mode) {
    const messages = (body && Array.isArray(body.messages)) ? body.messages : [];
    const user = String((messages[1] && messages[1].content) || '');
    const given = mode === 'ok' && opts.answer ? opts.answer(user, String((messages[0] && messages[0].content) || '')) : undefined;
    if (given !== undefined) return given;
    const qs = questionsIn(user);
    if (!user.trimStart().startsWith('<items>')) return answerTo(qs[0] || '');
    let arr = qs.map((q, i) => ({ i, question: answerTo(q) }));
    if (mode === 'packed-missing') arr = arr.slice(0, -1);
    if (mode === 'packed-invalid' && arr.length > 0) arr[arr.length - 1].question = 'HACKED';
    return '```json\n' + JSON.stringify(arr) + '\n```';
  }

  function build(mode, body, req) {
    const model = (body && typeof body.model === 'string') ? body.model : 'unknown';
    const err = (status, message, headers = {}) => ({
      status, headers, payload: JSON.stringify({ error: { message, code: status } }),
    });
    const ok = (content) => {
      const messages = (body && Array.isArray(body.messages)) ? body.messages : [];
      const promptChars = messages.reduce((n, m) => n + String(m.content || '').length, 0);
      const prompt = Math.floor(promptChars / 4) + 1;
      const completion = Math.floor(content.length / 4) + 1;
      return {
        status: 200,
        headers: {},
        payload: JSON.stringify({
          id: 'gen-fake', object: 'chat.completion', created: 0, model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
        }),
      };
    };
    switch (mode) {
      case '429':
        return err(429, 'rate limited',
          cfg.retryAfterSec === null ? {} : { 'retry-after': String(cfg.retryAfterSec) });
      case '500': return err(500, 'internal server error');
      case 'echoauth': return err(401, `invalid credentials: ${req.headers.authorization || ''}`);
      case 'badjson':
        return { status: 200, headers: {}, payload: '{"choices": [{"message": {"content": "Standalone' };
      case 'empty': return ok('');
      case 'inject': return ok('HACKED');
      default: return ok(answerFor(body, mode));
    }
  }

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://127.0.0.1');
      if (url.pathname === '/__stats') {
        const { requests, maxInFlight, inFlight } = stats;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ requests, maxInFlight, inFlight }));
        return;
      }
      if (url.pathname === '/__mode') {
        try {
          cfg.mode = checkMode(url.searchParams.get('mode') || 'ok');
          res.writeHead(204).end();
        } catch (e) {
          res.writeHead(400).end(String(e.message));
        }
        return;
      }

      stats.requests += 1;
      stats.inFlight += 1;
      stats.maxInFlight = Math.max(stats.maxInFlight, stats.inFlight);
      stats.arrivals.push(performance.timeOrigin + performance.now());
      stats.headers.push({ ...req.headers });
      let body = null;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        body = null;
      }
      stats.bodies.push(body);

      let finished = false;
      let timer = null;
      const finish = () => {
        if (finished) return false;
        finished = true;
        stats.inFlight -= 1;
        if (timer) clearTimeout(timer);
        return true;
      };
      // The client gave up (timeout/abort): stop counting it as in flight.
      res.on('close', finish);

      if (req.method !== 'POST' || !url.pathname.endsWith('/chat/completions')) {
        finish();
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end('{"error":{"message":"not found"}}');
        return;
      }
      const mode = pickMode(body);
      stats.modes.push(mode);
      if (mode === 'hang') return; // never answers; `close` ends it
      const reply = build(mode, body, req);
      timer = setTimeout(() => {
        // Decrement before writing: the client may reuse its slot right after.
        if (!finish()) return;
        res.writeHead(reply.status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(reply.payload),
          ...reply.headers,
        });
        res.end(reply.payload);
      }, cfg.delayMs);
    });
  });

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address();
  const url = `http://127.0.0.1:${port}/api/v1`;

  return {
    url,
    port,
    stats,
    /** Sets the default mode for later requests. */
    setMode(mode) {
      cfg.mode = checkMode(mode);
    },
    /** Sets the answer delay in ms. */
    setDelay(ms) {
      cfg.delayMs = ms;
    },
    /** Queues modes for the next requests, in arrival order. */
    script(modes) {
      queue.push(...modes.map(checkMode));
    },
    close() {
      return new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

module.exports = { startFakeOpenAI, standalone, questionsIn, NOT_A_REQUEST_MARKER };

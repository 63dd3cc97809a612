// Runs one official SDK against a base URL (rtbench serve, unchanged but for
// the base URL) and prints what the SDK read as one JSON line on stdout.
//
//   node sdk.js CASE BASE_URL
//
// CASE: openai-responses-stream, openai-responses-create, ai-chat,
// ai-responses, ai-ui-reader, genai-stream, ollama-chat. The Go test
// (transport/aistream/sdk_test.go) compares the output with the schedule and
// the text the mock was configured with. CommonJS, so NODE_PATH finds the
// packages locked in package-lock.json.
'use strict';

const [, , which, base] = process.argv;
const prompt = 'Say something now';

const cases = {
  // openai: responses.stream, with its own event accumulation.
  async 'openai-responses-stream'() {
    const OpenAI = require('openai');
    const client = new OpenAI({ apiKey: 'sk-rtbench', baseURL: base + '/v1' });
    const stream = client.responses.stream({ model: 'gpt-rtbench', input: prompt });
    let text = '', reasoning = '', deltas = 0;
    stream.on('response.output_text.delta', (e) => { text += e.delta; deltas++; });
    stream.on('response.reasoning_summary_text.delta', (e) => { reasoning += e.delta; });
    const final = await stream.finalResponse();
    return { text, reasoning, deltas, output_text: final.output_text, status: final.status, usage: final.usage };
  },
  // openai: responses.create, not streamed and streamed.
  async 'openai-responses-create'() {
    const OpenAI = require('openai');
    const client = new OpenAI({ apiKey: 'sk-rtbench', baseURL: base + '/v1' });
    const whole = await client.responses.create({ model: 'gpt-rtbench', input: [{ role: 'user', content: prompt }] });
    const events = await client.responses.create({ model: 'gpt-rtbench', input: prompt, stream: true });
    let text = '', deltas = 0, last = '';
    for await (const e of events) {
      if (e.type === 'response.output_text.delta') { text += e.delta; deltas++; }
      last = e.type;
    }
    return { text, deltas, last, output_text: whole.output_text, status: whole.status, usage: whole.usage };
  },
  // ai: streamText against the OpenAI-compatible Chat Completions mock.
  async 'ai-chat'() {
    const { streamText } = require('ai');
    const { createOpenAI } = require('@ai-sdk/openai');
    const openai = createOpenAI({ apiKey: 'sk-rtbench', baseURL: base + '/v1' });
    const result = streamText({ model: openai.chat('gpt-rtbench'), prompt });
    let text = '', deltas = 0;
    for await (const t of result.textStream) { text += t; deltas++; }
    return { text, deltas, finishReason: await result.finishReason };
  },
  // ai: streamText against the Responses mock (@ai-sdk/openai's default).
  async 'ai-responses'() {
    const { streamText } = require('ai');
    const { createOpenAI } = require('@ai-sdk/openai');
    const openai = createOpenAI({ apiKey: 'sk-rtbench', baseURL: base + '/v1' });
    const result = streamText({ model: openai.responses('gpt-rtbench'), prompt });
    let text = '', deltas = 0;
    for await (const t of result.textStream) { text += t; deltas++; }
    const usage = await result.usage;
    return { text, deltas, reasoning: await result.reasoningText, usage, finishReason: await result.finishReason };
  },
  // ai: the UI message stream route, fetched by useChat's own transport and
  // read back with the SDK's own reader.
  async 'ai-ui-reader'() {
    const { DefaultChatTransport, readUIMessageStream } = require('ai');
    const transport = new DefaultChatTransport({ api: base + '/api/ai-sdk/ui' });
    const messages = [{ id: 'u1', role: 'user', parts: [{ type: 'text', text: prompt }] }];
    const stream = await transport.sendMessages({ chatId: 'c1', messages, abortSignal: undefined, trigger: 'submit-message', messageId: undefined });
    let last, snapshots = 0;
    for await (const m of readUIMessageStream({ stream })) { last = m; snapshots++; }
    const part = (type) => last.parts.filter((p) => p.type === type).map((p) => p.text).join('');
    return { text: part('text'), reasoning: part('reasoning'), snapshots, role: last.role };
  },
  // @google/genai: generateContentStream.
  async 'genai-stream'() {
    const { GoogleGenAI } = require('@google/genai');
    const ai = new GoogleGenAI({ apiKey: 'rtbench', httpOptions: { baseUrl: base } });
    const stream = await ai.models.generateContentStream({ model: 'gemini-2.5-flash', contents: prompt,
      config: { thinkingConfig: { includeThoughts: true } } });
    let text = '', reasoning = '', chunks = 0, usage, finishReason;
    for await (const chunk of stream) {
      chunks++;
      for (const p of chunk.candidates?.[0]?.content?.parts ?? []) {
        if (p.thought) reasoning += p.text ?? ''; else text += p.text ?? '';
      }
      usage = chunk.usageMetadata;
      finishReason = chunk.candidates?.[0]?.finishReason ?? finishReason;
    }
    return { text, reasoning, chunks, usage, finishReason };
  },
  // ollama: chat with stream: true.
  async 'ollama-chat'() {
    const { Ollama } = require('ollama');
    const ollama = new Ollama({ host: base + '/ollama' });
    const stream = await ollama.chat({ model: 'llama3.2', messages: [{ role: 'user', content: prompt }], stream: true });
    let text = '', reasoning = '', parts = 0, final;
    for await (const part of stream) {
      parts++;
      text += part.message.content;
      reasoning += part.message.thinking ?? '';
      if (part.done) final = part;
    }
    const tags = await ollama.list();
    return { text, reasoning, parts, done_reason: final.done_reason, eval_count: final.eval_count,
      prompt_eval_count: final.prompt_eval_count, eval_duration: final.eval_duration, models: tags.models.map((m) => m.name) };
  },
};

const run = cases[which];
if (!run) {
  console.error(`unknown case ${which}: want ${Object.keys(cases).join(', ')}`);
  process.exit(2);
}
run().then((out) => console.log(JSON.stringify(out)), (err) => {
  console.error(err && err.stack || err);
  process.exit(1);
});

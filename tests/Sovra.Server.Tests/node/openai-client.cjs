// Drives a live Sovra node with the official `openai` npm client and prints what it got as one JSON object.
// Usage: node openai-client.cjs BASE_URL MODEL STOP
const OpenAI = require('openai');

async function main() {
  const [baseURL, model, stop] = process.argv.slice(2);
  const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 60000 });
  const messages = [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say something about rivers.' }];
  const out = {};

  const chat = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 12 });
  out.chat = { content: chat.choices[0].message.content, finish: chat.choices[0].finish_reason, usage: chat.usage, object: chat.object };

  const stream = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 12, stream: true, stream_options: { include_usage: true } });
  let text = '', finish = null, usage = null, chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices) { text += c.delta?.content ?? ''; finish = c.finish_reason ?? finish; }
  }
  out.stream = { content: text, finish, usage, chunks };

  const stopped = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 12, stop: [stop] });
  out.stop = { content: stopped.choices[0].message.content, finish: stopped.choices[0].finish_reason };

  const seeded = [];
  for (let i = 0; i < 2; i++)
    seeded.push((await client.chat.completions.create({ model, messages, temperature: 1, seed: 99, max_tokens: 10 })).choices[0].message.content);
  out.seeds = seeded;

  const lp = await client.chat.completions.create({ model, messages, temperature: 0, max_tokens: 4, logprobs: true, top_logprobs: 2 });
  out.logprobs = lp.choices[0].logprobs.content.map(t => ({ token: t.token, logprob: t.logprob, top: t.top_logprobs.length }));

  const completion = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5, temperature: 0 });
  out.completion = { text: completion.choices[0].text, usage: completion.usage, object: completion.object };

  try {
    await client.chat.completions.create({ model: 'missing-model', messages });
    out.error = { status: 0 };
  } catch (e) {
    out.error = { status: e.status, code: e.code ?? e.error?.code, message: e.message };
  }
  try {
    await client.chat.completions.create({ model, messages, temperature: 'hot' });
    out.badType = { status: 0 };
  } catch (e) {
    out.badType = { status: e.status, param: e.param ?? e.error?.param };
  }
  console.log(JSON.stringify(out));
}

main().catch(e => { console.error(String(e && e.stack || e)); process.exit(1); });

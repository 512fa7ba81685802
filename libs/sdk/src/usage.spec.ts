import { StreamUsage, anthropicUsage, openAIUsage, usageFromBody, usageFromResponse } from './usage';

/** Bodies as the providers document them. */
const chatCompletion = {
  id: 'chatcmpl-1',
  object: 'chat.completion',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 12, completion_tokens: 30, total_tokens: 42 },
};
const responsesApi = {
  id: 'resp_1',
  object: 'response',
  usage: { input_tokens: 5, output_tokens: 7, total_tokens: 12 },
};
const anthropicMessage = {
  id: 'msg_1',
  type: 'message',
  content: [{ type: 'text', text: 'Hi' }],
  usage: { input_tokens: 20, cache_creation_input_tokens: 3, cache_read_input_tokens: 2, output_tokens: 7 },
};

describe('usage of JSON bodies', () => {
  it('reads Chat Completions and the Responses API', () => {
    expect(openAIUsage(chatCompletion)).toEqual({ promptTokens: 12, completionTokens: 30, totalTokens: 42 });
    expect(openAIUsage(responsesApi)).toEqual({ promptTokens: 5, completionTokens: 7, totalTokens: 12 });
  });

  it('reads Anthropic Messages, cache tokens counted as input', () => {
    expect(anthropicUsage(anthropicMessage)).toEqual({ promptTokens: 25, completionTokens: 7, totalTokens: 32 });
  });

  it('tells the shapes apart by itself', () => {
    expect(usageFromBody(chatCompletion)).toEqual({ promptTokens: 12, completionTokens: 30, totalTokens: 42 });
    expect(usageFromBody(anthropicMessage)).toEqual({ promptTokens: 25, completionTokens: 7, totalTokens: 32 });
    expect(usageFromBody({ usage: { input_tokens: 4, output_tokens: 6 } })).toEqual({
      promptTokens: 4,
      completionTokens: 6,
      totalTokens: 10,
    });
  });

  it('ignores what is not usage', () => {
    expect(usageFromBody(undefined)).toBeUndefined();
    expect(usageFromBody('text')).toBeUndefined();
    expect(usageFromBody({ usage: null })).toBeUndefined();
    expect(usageFromBody({ usage: { prompt_tokens: -1, completion_tokens: 'many' } })).toBeUndefined();
  });

  it('reads a JSON Response from a clone, leaving the original readable', async () => {
    const res = new Response(JSON.stringify(chatCompletion), {
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(await usageFromResponse(res)).toEqual({ promptTokens: 12, completionTokens: 30, totalTokens: 42 });
    expect(await res.json()).toEqual(chatCompletion);
    expect(
      await usageFromResponse(new Response('not json', { headers: { 'content-type': 'text/plain' } })),
    ).toBeUndefined();
    expect(
      await usageFromResponse(new Response('{', { headers: { 'content-type': 'application/json' } })),
    ).toBeUndefined();
  });
});

describe('StreamUsage', () => {
  it("takes OpenAI's final chunk (stream_options.include_usage)", () => {
    const usage = new StreamUsage();
    usage.add({ choices: [{ delta: { content: 'Hi' } }], usage: null });
    usage.add({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } });
    expect(usage.result()).toEqual({ promptTokens: 9, completionTokens: 2, totalTokens: 11 });
  });

  it("adds Anthropic's message_start input to message_delta's cumulative output", () => {
    const usage = new StreamUsage();
    usage.add({ type: 'message_start', message: { usage: { input_tokens: 25, output_tokens: 1 } } });
    usage.add({ type: 'content_block_delta', delta: { type: 'text_delta', text: 'Hi' } });
    usage.add({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 15 } });
    expect(usage.result()).toEqual({ promptTokens: 25, completionTokens: 15, totalTokens: 40 });
  });

  it('has nothing to say about a stream without usage', () => {
    const usage = new StreamUsage();
    usage.add({ choices: [{ delta: { content: 'Hi' } }] });
    usage.add('text');
    expect(usage.result()).toBeUndefined();
  });
});

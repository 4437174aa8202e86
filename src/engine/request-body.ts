import type { RequestSettings } from '../config/settings.js'

/**
 * The chat completion body of llama.cpp's k6 server benchmark: a system and a user message,
 * streamed, with usage requested in the stream. `extraBody` goes last so a user can override
 * any field (e.g. drop `stream_options` for a server that rejects it).
 */
export function buildRequestBody(
  request: RequestSettings,
  prompt: string
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    messages: [
      { role: 'system', content: request.systemPrompt },
      { role: 'user', content: prompt }
    ],
    model: request.model,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: request.maxTokens,
    stop: request.stop
  }
  if (request.seed !== null) body.seed = request.seed
  return { ...body, ...request.extraBody }
}

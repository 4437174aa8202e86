/** The k6 benchmark's pseudo-tokenizer: split on whitespace and `,'".?`. */
const PSEUDO_TOKEN_SEPARATOR = /[\s,'".?]/

/** Pseudo-token count of a text, exactly as llama.cpp's k6 script counts it (empty pieces included). */
export function countPseudoTokens(text: string): number {
  return text.split(PSEUDO_TOKEN_SEPARATOR).length
}

/**
 * Prompt-injection and jailbreak heuristics. Each pattern is a rule with its own id and a weight;
 * the weights of what a text contains add up to a score, and the configured action (block or log)
 * applies from a score of 1. Strong, unambiguous patterns weigh 1 on their own; patterns that
 * also occur in honest text (a pasted transcript, "stay in character" in fiction, bidi controls
 * in right-to-left text) weigh less, so they only count together.
 *
 * Input rules look at what a client sends; output rules look for a model leaking its
 * instructions or emitting chat-template control tokens.
 */
import { regexRule, type Rule } from './rule.ts';

const KIND = 'injection' as const;
const S = '\\s{1,3}';

const VERB_LIST = 'ignore|disregard|forget|override|overrule|bypass';
const VERBS_IGNORE = `(?:${VERB_LIST})`;
const TRIG_IGNORE = ['ignor', 'disregard', 'forget', 'overrid', 'overrul', 'bypass'];

const ignorePrevious = regexRule({
  id: 'injection.ignore-previous',
  kind: KIND,
  weight: 1,
  re: `\\b${VERBS_IGNORE}${S}(?:(?:all|any|every|the|your|my|of|these|those|everything|what\\s{1,3}was)${S}){0,3}(?:previous|prior|above|earlier|preceding|former|initial|original|past|foregoing|said)${S}(?:(?:system|developer|safety)${S})?(?:instructions?|prompts?|directions?|directives?|rules|guidelines|guidance|constraints)\\b`,
  flags: 'i',
  triggers: { ci: TRIG_IGNORE },
  span: 160,
});

const disregardSystem = regexRule({
  id: 'injection.disregard-system',
  kind: KIND,
  weight: 1,
  re: `\\b(?:${VERB_LIST}|disable|turn${S}off)${S}(?:(?:all|any|the|your|its|these|of)${S}){0,2}(?:system${S}(?:prompt|message|instructions?|rules)|safety${S}(?:guidelines|rules|filters?|protocols?|measures)|guardrails|content${S}(?:polic(?:y|ies)|filters?)|(?:ethical|moral)${S}(?:guidelines|constraints|rules)|(?:your|all)${S}restrictions)\\b`,
  flags: 'i',
  triggers: { ci: [...TRIG_IGNORE, 'disabl', 'turn'] },
  span: 120,
});

const danCs = regexRule({
  id: 'injection.dan',
  kind: KIND,
  weight: 1,
  // "DAN" in capitals only: Dan is a name.
  re: `\\bDAN(?:${S}(?:[Mm]ode|[Pp]rompt|[Jj]ailbreak)|${S}\\d+(?:\\.\\d+)?)?\\b`,
  triggers: { cs: ['DAN'] },
  span: 30,
  validate: (m, text) => /(?:mode|prompt|jailbreak|\d)$/i.test(m[0]) || /you\s{1,3}are\s{1,3}(?:now\s{1,3})?$/i.test(text.slice(Math.max(0, m.index - 20), m.index)),
  behind: 20,
});

const danCi = regexRule({
  id: 'injection.dan',
  kind: KIND,
  weight: 1,
  re: `\\b(?:you${S}are${S}(?:now${S})?(?:in${S}(?:developer|god|jailbreak|unrestricted)${S}mode|jailbroken|unfiltered|uncensored)|do${S}anything${S}now|(?:developer|god|jailbreak)${S}mode${S}(?:enabled|activated|on)|enable${S}(?:developer|god|jailbreak)${S}mode)\\b`,
  flags: 'i',
  triggers: { ci: ['developer', 'god', 'jailbr', 'unrestricted', 'unfiltered', 'uncensored', 'anything'] },
  span: 60,
});

const revealSystemPrompt = regexRule({
  id: 'injection.reveal-system-prompt',
  kind: KIND,
  weight: 1,
  re: `\\b(?:reveal|print|show|output|repeat|display|dump|leak|expose|recite|disclose|tell${S}me|give${S}me|write${S}out|what${S}(?:is|are|was|were))${S}(?:me${S})?(?:(?:your|the|all|of|back)${S}){0,3}(?:(?:full|entire|exact|complete|original|hidden|initial|secret|verbatim)${S}){0,2}(?:system${S}(?:prompt|message|instructions?)|(?:initial|hidden|original|secret|developer)${S}(?:instructions?|prompt)|instructions${S}(?:above|you${S}were${S}given)|(?:text|prompt|words)${S}above)\\b`,
  flags: 'i',
  // Every alternative ends in one of these words ("system" is always followed by prompt|message|instruction).
  triggers: { ciWord: ['message', 'instruction', 'prompt', 'above'] },
  span: 140,
});

const roleplayUnrestricted = regexRule({
  id: 'injection.roleplay-unrestricted',
  kind: KIND,
  weight: 1,
  re: `\\b(?:(?:pretend|imagine|act${S}as${S}if|suppose)${S}(?:that${S})?you${S}(?:are|were|have|had)${S}(?:an?${S})?(?:no${S}(?:restrictions|rules|limits|limitations|filters|guidelines|constraints|ethics|morals)|not${S}bound|without${S}(?:any${S})?(?:restrictions|rules|limits|limitations|filters|guidelines|constraints|ethics)|free${S}(?:from|of)|unrestricted|unfiltered|uncensored|evil|amoral)|you${S}are${S}no${S}longer${S}(?:an?${S})?(?:AI|assistant|language${S}model|bound|restricted|ChatGPT|Claude|Llama)|(?:act|respond|answer)${S}as${S}(?:an?${S})?(?:unrestricted|unfiltered|uncensored|evil|amoral|jailbroken))\\b`,
  flags: 'i',
  triggers: { ciWord: ['pretend', 'imagine', 'act', 'suppose', 'longer', 'respond', 'answer'] },
  span: 120,
});

const roleplayPersona = regexRule({
  id: 'injection.roleplay-persona',
  kind: KIND,
  weight: 0.5,
  re: `\\b(?:from${S}now${S}on,?${S}you${S}(?:are|will|must|shall)|stay${S}in${S}character|your${S}new${S}(?:role|instructions|persona|name)${S}(?:is|are)|new${S}instructions\\s{0,3}:)`,
  flags: 'i',
  triggers: { ci: ['from', 'character', 'your', 'instructions'] },
  span: 50,
});

/** Chat-template control tokens (ChatML, Llama 2/3, Gemma, Phi, harmony) and Alpaca-style markers. */
const TEMPLATE = `<\\|(?:im_start|im_end|im_sep|start_header_id|end_header_id|eot_id|eom_id|begin_of_text|end_of_text|endoftext|system|user|assistant|start|end|message|channel|return|call|constrain|python_tag|fim_prefix|fim_middle|fim_suffix)\\|>|\\[/?INST\\]|<</?SYS>>|</?start_of_turn>|<end_of_turn>`;
const templateMarker = regexRule({
  id: 'injection.template-marker',
  kind: KIND,
  weight: 1,
  re: TEMPLATE,
  flags: 'i',
  triggers: { ci: ['<|', '[inst]', '[/inst]', '<<sys>>', '<</sys>>', '<start_of_turn>', '</start_of_turn>', '<end_of_turn>'] },
  behind: 0,
  span: 20,
  ahead: 0,
});

const fakeTranscript = regexRule({
  id: 'injection.fake-transcript',
  kind: KIND,
  weight: 0.5,
  re: '^[ \\t]{0,3}(?:#{2,4}[ \\t]{0,2}(?:system|instructions?|assistant|developer|response)\\b[ \\t]{0,2}:?|(?:system|developer)[ \\t]{0,2}(?:prompt|message)?[ \\t]{0,2}:)',
  flags: 'im',
  triggers: { ciLine: ['##', 'system', 'developer'] },
  span: 40,
});

const fakeTurn = regexRule({
  id: 'injection.fake-turn',
  kind: KIND,
  weight: 0.25,
  // One fake model turn at the start of a line; four or more reach the score on their own (many-shot).
  re: '^[ \\t]{0,3}(?:assistant|ai|gpt|chatbot|model):',
  flags: 'im',
  triggers: { ciLine: ['assistant:', 'ai:', 'gpt:', 'chatbot:', 'model:'] },
  span: 12,
  ahead: 0,
});

const unicodeTags = regexRule({
  id: 'injection.unicode-tags',
  kind: KIND,
  weight: 1,
  // Invisible tag characters U+E0000..E007F (surrogate pairs \uDB40\uDC00..\uDC7F): hidden text.
  re: '(?:\\uDB40[\\uDC00-\\uDC7F])+',
  triggers: { special: ['tag'] },
  behind: 0,
  span: 2,
  ahead: 2,
});

const bidiControl = regexRule({
  id: 'injection.bidi-control',
  kind: KIND,
  weight: 0.5,
  // Bidi embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI).
  re: '[\\u202A-\\u202E\\u2066-\\u2069]+',
  triggers: { special: ['bidi'] },
  behind: 0,
  span: 1,
});

const systemPromptLeak = regexRule({
  id: 'injection.system-prompt-leak',
  kind: KIND,
  weight: 0.5,
  re: `\\b(?:(?:my|the)${S}(?:system${S}prompt|system${S}message|(?:initial|hidden|original|secret)${S}instructions)${S}(?:is|are|says|reads|states)\\b|here${S}(?:is|are)${S}(?:my|the)${S}(?:(?:full|complete|exact)${S})?(?:system${S}prompt|instructions${S}I${S}(?:was|were)${S}given)\\b)`,
  flags: 'i',
  triggers: { ci: ['system', 'instructions'] },
  span: 80,
});

export const INJECTION_INPUT_RULES: readonly Rule[] = [ignorePrevious, disregardSystem, danCs, danCi, revealSystemPrompt, roleplayUnrestricted, roleplayPersona, templateMarker, fakeTranscript, fakeTurn, unicodeTags, bidiControl];

export const INJECTION_OUTPUT_RULES: readonly Rule[] = [templateMarker, systemPromptLeak, unicodeTags, bidiControl];

/**
 * Wording banks for synthetic traffic, written for this evaluation. Each bank has one half for
 * calibration and another for report, so the report measures wording the detector never saw.
 */
import type { Part } from './corpus.js';

export interface Bank {
  genVerbs: string[];
  genObjects: string[];
  genPurposes: string[];
  genFormats: string[];
  cot: string[];
  topicQuestions: string[];
  benignPrefixes: string[];
  benignTasks: string[];
}

const CAL: Bank = {
  genVerbs: ['Generate', 'Create', 'Write', 'Produce', 'Come up with', 'Make'],
  genObjects: ['diverse task instructions', 'instruction-following examples', 'question and answer pairs', 'varied prompts with ideal responses', 'training examples', 'new tasks similar to the ones below'],
  genPurposes: ['for fine-tuning a language model', 'to train an AI assistant', 'for an instruction dataset', 'that will be used to evaluate a GPT model', ''],
  genFormats: [
    'Each item needs an instruction, an optional input and an output.',
    'Return them as a JSON list with "instruction", "input" and "output" fields.',
    'Number them and give the answer after each one.',
    'Cover many different skills: classification, rewriting, open questions, math.',
  ],
  cot: ['Think step by step and show every step of your reasoning before the final answer.', "Let's think step by step. Explain your full chain of reasoning."],
  topicQuestions: ['Explain in detail: {x}', 'Why is this true? {x}', 'Expand on the following point with examples: {x}', 'Give a thorough explanation of this statement: {x}', 'What does this mean, and why does it matter? {x}', 'Elaborate: {x}', 'Write a detailed paragraph about the following: {x}', 'Can you teach me about this? {x}'],
  benignPrefixes: ['Rewrite this more clearly:', 'Fix the grammar:', 'Summarize this for me:', 'Translate into French:', 'Make this sound friendlier:', 'TL;DR please:'],
  benignTasks: ['Can you shorten this?', 'What is the main point here?', 'Is this paragraph accurate?', 'Please proofread.', 'Turn this into bullet points.'],
};

const REP: Bank = {
  genVerbs: ['Brainstorm', 'Invent', 'Draft', 'Compose', 'List', 'Devise'],
  genObjects: ['prompts and their best answers', 'novel instructions with matching responses', 'synthetic dialogues between a user and an assistant', 'exercises with worked solutions', 'task descriptions together with sample outputs', 'fresh examples in the same style as these'],
  genPurposes: ['so we can distil a smaller model', 'for our supervised fine-tuning corpus', 'as seed data for a chatbot', 'to bootstrap a dataset', ''],
  genFormats: [
    'Format: Instruction / Input / Output, separated by ###.',
    'Output JSONL, one object per line with prompt and completion keys.',
    'After each task write a high-quality response.',
    'Vary the task types widely (editing, reasoning, coding, trivia).',
  ],
  cot: ['Reason through it carefully, writing out all intermediate steps, then state the answer.', 'Before answering, walk through your thinking one step at a time.'],
  topicQuestions: ['Please explain: {x}', 'Break this down for a student: {x}', 'In depth, what is behind this? {x}', 'Discuss the following and give examples: {x}', 'Clarify and elaborate on: {x}', 'I want a comprehensive answer about this: {x}', 'Help me understand: {x}', 'Describe thoroughly: {x}'],
  benignPrefixes: ['Improve my wording:', 'Check spelling:', 'Condense this:', 'Into German please:', 'Make it formal:', 'Simplify:'],
  benignTasks: ['Could you make this shorter?', 'Any mistakes here?', 'What would you change?', 'Explain this to a child.', 'Give this a title.'],
};

export function bank(part: Part): Bank {
  return part === 'calibration' ? CAL : REP;
}

/**
 * `medparse vocab`: look up the anatomy vocabulary.
 *
 *   medparse vocab resolve "<text>" [--json]
 *   medparse vocab search <words> [--limit N] [--json]
 *   medparse vocab list [--category C] [--modality M] [--json]
 */
import type { Command } from 'commander';
import { CATEGORIES, type Category, type Concept, type Modality, type ParsedPrompt } from '../../vocab/types.js';
import { loadVocabulary } from '../../vocab/vocabulary-file.js';
import { parsePrompts } from '../../vocab/parser.js';
import type { CliContext } from '../context.js';
import type { CommandIO } from '../io.js';

const MODALITIES: readonly Modality[] = ['CT', 'MR', 'PET'];

interface VocabOptions {
  json: boolean;
  category?: string;
  modality?: string;
  limit?: string;
}

interface Parsed {
  values: VocabOptions;
  text: string;
}

export function defineVocabCommand(program: Command, context: CliContext): void {
  const vocab = program
    .command('vocab')
    .summary('look up anatomy concepts: resolve prompts, search, list')
    .description(
      "Look up medparse's anatomy vocabulary: what a prompt means, which concepts match words, all concepts.",
    );
  const json = ['--json', 'print JSON instead of text'] as const;
  vocab
    .command('resolve')
    .description('what a prompt text means to medparse, prompt by prompt (as segment -p reads it)')
    .argument('<text...>', 'the prompts, e.g. "liver and both kidneys"')
    .option(...json)
    .action((words: string[], values: VocabOptions) => {
      context.code = resolveCommand({ values, text: words.join(' ').trim() }, context.io);
    });
  vocab
    .command('search')
    .description('concepts whose names, synonyms or codes match the words')
    .argument('<words...>', 'words to look for, e.g. carotid')
    .option('--limit <n>', 'show at most this many concepts', '20')
    .option(...json)
    .action((words: string[], values: VocabOptions) => {
      context.code = searchCommand({ values, text: words.join(' ').trim() }, context.io);
    });
  vocab
    .command('list')
    .description('every concept, or those of one category or modality')
    .option('--category <category>', `only this category: ${CATEGORIES.join(', ')}`)
    .option('--modality <modality>', `only concepts seen in this modality: ${MODALITIES.join(', ')}`)
    .option(...json)
    .action((values: VocabOptions) => {
      context.code = listCommand({ values, text: '' }, context.io);
    });
}

function resolveCommand({ values, text }: Parsed, io: CommandIO): number {
  if (!text) {
    io.stderr('medparse vocab resolve: give the text to resolve, e.g. medparse vocab resolve "liver and both kidneys"');
    return 2;
  }
  const prompts = parsePrompts(text, loadVocabulary());
  if (values.json) {
    io.stdout(JSON.stringify({ prompts: prompts.map(promptJson) }, null, 2));
  } else {
    for (const prompt of prompts) io.stdout(promptLine(prompt));
  }
  return 0;
}

function promptJson(prompt: ParsedPrompt) {
  return {
    text: prompt.text,
    status: prompt.status,
    concepts: prompt.concepts,
    suggestions: prompt.suggestions,
    confidence: prompt.confidence,
    matchedBy: prompt.matchedBy,
    laterality: prompt.laterality,
    ...(prompt.location ? { location: prompt.location } : {}),
    ...(prompt.modalityHint ? { modalityHint: prompt.modalityHint } : {}),
    ...(prompt.notes.length > 0 ? { notes: prompt.notes } : {}),
  };
}

function promptLine(prompt: ParsedPrompt): string {
  const head = `${JSON.stringify(prompt.text)}  ${prompt.status}`;
  if (prompt.status === 'unknown') {
    return prompt.suggestions.length > 0 ? `${head}  (did you mean: ${prompt.suggestions.join(', ')}?)` : head;
  }
  const concepts = prompt.concepts.map((c) => `${c.id} (${c.name}${c.snomed ? `, SCT ${c.snomed}` : ''})`).join(' | ');
  const extras = [
    `${prompt.matchedBy} ${prompt.confidence.toFixed(2)}`,
    ...(prompt.location ? [`in ${prompt.location.id}`] : []),
    ...(prompt.modalityHint ? [prompt.modalityHint] : []),
  ];
  return `${head}  ${concepts}  [${extras.join(', ')}]`;
}

function searchCommand({ values, text }: Parsed, io: CommandIO): number {
  if (!text) {
    io.stderr('medparse vocab search: give words to search for, e.g. medparse vocab search carotid');
    return 2;
  }
  const limit = Number(values.limit ?? 20);
  if (!Number.isInteger(limit) || limit <= 0) {
    io.stderr(`medparse vocab search: --limit must be a positive integer, got "${values.limit}"`);
    return 2;
  }
  const found = loadVocabulary().search(text, limit);
  printConcepts(found, values.json === true, io);
  if (found.length === 0 && values.json !== true) io.stderr(`no concept matches "${text}"`);
  return 0;
}

function listCommand({ values }: Parsed, io: CommandIO): number {
  const category = values.category;
  if (category !== undefined && !CATEGORIES.includes(category as Category)) {
    io.stderr(`medparse vocab list: unknown category "${category}"; one of ${CATEGORIES.join(', ')}`);
    return 2;
  }
  const modality = values.modality === undefined ? undefined : normalizeModality(values.modality);
  if (modality === null) {
    io.stderr(`medparse vocab list: unknown modality "${values.modality}"; one of ${MODALITIES.join(', ')}`);
    return 2;
  }
  const found = loadVocabulary().list({ category: category as Category | undefined, modality });
  printConcepts(found, values.json === true, io);
  return 0;
}

function normalizeModality(text: string): Modality | null {
  const upper = text.toUpperCase();
  if (upper === 'MRI') return 'MR';
  return MODALITIES.find((m) => m === upper) ?? null;
}

function printConcepts(concepts: Concept[], json: boolean, io: CommandIO): void {
  if (json) {
    const rows = concepts.map((c) => ({
      id: c.id,
      name: c.name,
      category: c.category,
      laterality: c.laterality,
      modalities: c.modalities,
      snomed: c.snomed?.code ?? null,
    }));
    io.stdout(JSON.stringify({ concepts: rows }, null, 2));
    return;
  }
  const idWidth = Math.min(40, Math.max(2, ...concepts.map((c) => c.id.length)));
  for (const c of concepts) {
    const snomed = c.snomed ? `SCT ${c.snomed.code}` : '-';
    io.stdout(
      `${c.id.padEnd(idWidth)}  ${c.category.padEnd(15)}  ${c.modalities.join('/').padEnd(6)}  ${snomed.padEnd(14)}  ${c.name}`,
    );
  }
}

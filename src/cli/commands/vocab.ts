/**
 * `medparse vocab`: look up the anatomy vocabulary.
 *
 *   medparse vocab resolve "<text>" [--json]
 *   medparse vocab search <words> [--limit N] [--json]
 *   medparse vocab list [--category C] [--modality M] [--json]
 */
import { parseArgs } from 'node:util';
import { CATEGORIES, type Category, type Concept, type Modality, type ParsedPrompt } from '../../vocab/types.js';
import { loadVocabulary } from '../../vocab/vocabulary.js';
import { parsePrompts } from '../../vocab/parser.js';

export interface VocabCommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

export const VOCAB_USAGE =
  'medparse vocab resolve "<text>" [--json] | search <words> [--limit N] [--json] | list [--category C] [--modality M] [--json]';

const MODALITIES: readonly Modality[] = ['CT', 'MR', 'PET'];

export async function runVocabCommand(args: string[], io: VocabCommandIO): Promise<number> {
  const [subcommand, ...rest] = args;
  let parsed: ReturnType<typeof parseVocabArgs>;
  try {
    parsed = parseVocabArgs(rest);
  } catch (error) {
    io.stderr(`medparse vocab: ${error instanceof Error ? error.message : String(error)}`);
    return 2;
  }
  switch (subcommand) {
    case 'resolve':
      return resolveCommand(parsed, io);
    case 'search':
      return searchCommand(parsed, io);
    case 'list':
      return listCommand(parsed, io);
    default:
      io.stderr(
        subcommand
          ? `medparse vocab: unknown subcommand "${subcommand}"; usage: ${VOCAB_USAGE}`
          : `usage: ${VOCAB_USAGE}`,
      );
      return 2;
  }
}

function parseVocabArgs(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      json: { type: 'boolean', default: false },
      category: { type: 'string' },
      modality: { type: 'string' },
      limit: { type: 'string' },
    },
  });
  return { values, text: positionals.join(' ').trim() };
}

type Parsed = ReturnType<typeof parseVocabArgs>;

function resolveCommand({ values, text }: Parsed, io: VocabCommandIO): number {
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

function searchCommand({ values, text }: Parsed, io: VocabCommandIO): number {
  if (!text) {
    io.stderr('medparse vocab search: give words to search for, e.g. medparse vocab search carotid');
    return 2;
  }
  const limit = values.limit === undefined ? 20 : Number(values.limit);
  if (!Number.isInteger(limit) || limit <= 0) {
    io.stderr(`medparse vocab search: --limit must be a positive integer, got "${values.limit}"`);
    return 2;
  }
  const found = loadVocabulary().search(text, limit);
  printConcepts(found, values.json === true, io);
  if (found.length === 0 && values.json !== true) io.stderr(`no concept matches "${text}"`);
  return 0;
}

function listCommand({ values }: Parsed, io: VocabCommandIO): number {
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

function printConcepts(concepts: Concept[], json: boolean, io: VocabCommandIO): void {
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

/**
 * Text normalisation shared by the vocabulary index and the prompt parser.
 *
 * Both sides go through the same functions, so a rule only has to be consistent, not perfect:
 * "lens" becoming "len" is harmless because the index and the query both say "len".
 */

/** British (and older) spellings -> the American spelling the vocabulary is keyed on. */
const SPELLING_VARIANTS: Readonly<Record<string, string>> = {
  tumour: 'tumor',
  tumours: 'tumors',
  oesophagus: 'esophagus',
  oesophageal: 'esophageal',
  oesophagi: 'esophagi',
  oedema: 'edema',
  oedematous: 'edematous',
  coeliac: 'celiac',
  caecum: 'cecum',
  caecal: 'cecal',
  grey: 'gray',
  centre: 'center',
  fibre: 'fiber',
  fibres: 'fibers',
  foetal: 'fetal',
  paediatric: 'pediatric',
  ischaemic: 'ischemic',
  ischaemia: 'ischemia',
  anaemia: 'anemia',
  orbitae: 'orbita',
  haemorrhage: 'hemorrhage',
  haemorrhagic: 'hemorrhagic',
  haematoma: 'hematoma',
  haemangioma: 'hemangioma',
  haemothorax: 'hemothorax',
  haemisphere: 'hemisphere',
  temperomandibular: 'temporomandibular',
  tumoral: 'tumoral',
};

/** Plurals that the suffix rules below would get wrong. */
const IRREGULAR_SINGULARS: Readonly<Record<string, string>> = {
  vertebrae: 'vertebra',
  teeth: 'tooth',
  phalanges: 'phalanx',
  metastases: 'metastasis',
  mets: 'metastasis',
  met: 'metastasis',
  bronchi: 'bronchus',
  atria: 'atrium',
  nuclei: 'nucleus',
  lumina: 'lumen',
  foramina: 'foramen',
  ganglia: 'ganglion',
  gyri: 'gyrus',
  sulci: 'sulcus',
  cortices: 'cortex',
  testes: 'testis',
  pelves: 'pelvis',
  calyces: 'calyx',
  appendices: 'appendix',
  septa: 'septum',
  menisci: 'meniscus',
  femora: 'femur',
  humeri: 'humerus',
  radii: 'radius',
  ilia: 'ilium',
  esophagi: 'esophagus',
  plexuses: 'plexus',
  sinuses: 'sinus',
  processes: 'process',
  hippocampi: 'hippocampus',
  thalami: 'thalamus',
  fasciculi: 'fasciculus',
  data: 'data',
};

/** Words too common to carry meaning in a concept name; dropped from index keys and queries alike. */
const NOISE_WORDS: ReadonlySet<string> = new Set(['the', 'a', 'an', 'of', 'its']);

export function stripDiacritics(text: string): string {
  return text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '');
}

export function singularize(token: string): string {
  const irregular = IRREGULAR_SINGULARS[token];
  if (irregular) return irregular;
  if (token.length <= 3 || /\d/.test(token)) return token;
  if (token.endsWith('ies')) return token.slice(0, -3) + 'y';
  if (token.endsWith('sses')) return token.slice(0, -2);
  if (/(x|ch|sh)es$/.test(token)) return token.slice(0, -2);
  if (token.endsWith('ae') && token.length > 4) return token.slice(0, -1);
  if (token.endsWith('s') && !/(ss|us|is|as|ys)$/.test(token)) return token.slice(0, -1);
  return token;
}

/** British word beginnings, for forms the table above does not list ("oesophagogastric"). */
const BRITISH_PREFIXES: ReadonlyArray<[string, string]> = [
  ['oesoph', 'esoph'],
  ['oedem', 'edem'],
  ['haem', 'hem'],
  ['paed', 'ped'],
  ['tumour', 'tumor'],
];

export function normalizeToken(token: string): string {
  let spelled = SPELLING_VARIANTS[token] ?? token;
  for (const [british, american] of BRITISH_PREFIXES) {
    if (spelled.startsWith(british)) spelled = american + spelled.slice(british.length);
  }
  return singularize(spelled);
}

/**
 * Lower-cases, drops accents and punctuation, joins vertebra-like tokens ("L-3", "t 12" -> "l3",
 * "t12"), maps British spellings and plurals. Returns the tokens; NOISE_WORDS are removed.
 */
export function normalizeTokens(text: string): string[] {
  const cleaned = stripDiacritics(text.toLowerCase())
    .replace(/[’']s\b/g, '')
    .replace(/\b([cthls])\s*-\s*(\d{1,2})\b/g, '$1$2')
    .replace(/\b([cthl])\s+(\d{1,2})\b/g, '$1$2')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
  if (!cleaned) return [];
  return cleaned
    .split(' ')
    .map(normalizeToken)
    .filter((token) => !NOISE_WORDS.has(token));
}

/** The index key of a term: its normalised tokens joined by single spaces. */
export function termKey(text: string): string {
  return normalizeTokens(text).join(' ');
}

/**
 * Optimal-string-alignment distance (Levenshtein plus adjacent transpositions), giving up early:
 * returns `limit + 1` as soon as the distance is known to exceed `limit`.
 */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  const width = b.length + 1;
  let previous2 = new Array<number>(width).fill(0);
  let previous = Array.from({ length: width }, (_, j) => j);
  let current = new Array<number>(width).fill(0);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        value = Math.min(value, previous2[j - 2] + 1);
      }
      current[j] = value;
      if (value < rowMin) rowMin = value;
    }
    if (rowMin > limit) return limit + 1;
    [previous2, previous, current] = [previous, current, previous2];
  }
  return previous[b.length];
}

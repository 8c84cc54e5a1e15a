/**
 * The slice of dcmjs (which ships no TypeScript types) that medparse uses. Values are typed as
 * `unknown` on purpose: src/io/dicom/dcmjs.ts narrows them, so no untyped value leaves the facade.
 */
declare module 'dcmjs' {
  /** One element in DICOM JSON form, keyed by its tag as 8 hex digits ("0020000D"). */
  export interface DicomJsonElement {
    vr: string;
    Value?: unknown[];
  }
  export type DicomJsonDict = Record<string, DicomJsonElement>;
  /** A dataset keyed by DICOM keywords ("SeriesInstanceUID"), sequences as arrays of datasets. */
  export type NaturalDataset = Record<string, unknown>;

  export interface ReadFileOptions {
    ignoreErrors?: boolean;
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
    forceStoreRaw?: boolean;
  }
  export interface WriteOptions {
    allowInvalidVRLength?: boolean;
    /** Split each encapsulated frame into 20 KiB fragments (dcmjs default true). */
    fragmentMultiframe?: boolean;
  }

  export class DicomDict {
    constructor(meta: DicomJsonDict);
    meta: DicomJsonDict;
    dict: DicomJsonDict;
    write(options?: WriteOptions): ArrayBuffer;
  }

  export interface DcmjsData {
    DicomDict: typeof DicomDict;
    DicomMessage: { readFile(buffer: ArrayBuffer, options?: ReadFileOptions): DicomDict };
    DicomMetaDictionary: {
      naturalizeDataset(dict: DicomJsonDict): NaturalDataset;
      denaturalizeDataset(dataset: NaturalDataset): DicomJsonDict;
    };
  }

  export interface DcmjsLog {
    setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void;
    getLevel(): number;
  }

  const dcmjs: { data: DcmjsData; log: DcmjsLog };
  export default dcmjs;
}

/**
 * A minimal ONNX (protobuf) writer, so tests build small networks with known answers instead of
 * shipping binary fixtures. Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto, ...).
 */

class ProtoWriter {
  private readonly chunks: number[] = [];

  varint(value: number | bigint): this {
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.chunks.push(Number((v & 0x7fn) | 0x80n));
      v >>= 7n;
    }
    this.chunks.push(Number(v));
    return this;
  }

  tag(field: number, wireType: 0 | 2 | 5): this {
    return this.varint((field << 3) | wireType);
  }

  int(field: number, value: number): this {
    return this.tag(field, 0).varint(value);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const b of data) this.chunks.push(b);
    return this;
  }

  string(field: number, text: string): this {
    return this.bytes(field, new TextEncoder().encode(text));
  }

  message(field: number, build: (w: ProtoWriter) => void): this {
    const inner = new ProtoWriter();
    build(inner);
    return this.bytes(field, inner.finish());
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([value]).buffer);
    for (const x of b) this.chunks.push(x);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.chunks);
  }
}

export type TensorType = 'float32' | 'int64';
const ELEM_TYPE: Record<TensorType, number> = { float32: 1, int64: 7 };

export interface ValueInfo {
  name: string;
  type: TensorType;
  /** A number for a fixed size, a string for a named dynamic axis. */
  shape: Array<number | string>;
}

export interface Initializer {
  name: string;
  type: TensorType;
  dims: number[];
  values: number[];
}

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Record<string, number | number[]>;
}

export interface GraphSpec {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Initializer[];
  nodes: NodeSpec[];
  opset?: number;
}

export function buildOnnxModel(spec: GraphSpec): Uint8Array {
  const model = new ProtoWriter();
  model.int(1, 8); // ir_version
  model.string(2, 'medparse-tests');
  model.message(7, (graph) => {
    spec.nodes.forEach((node, i) => graph.message(1, (w) => writeNode(w, node, i)));
    graph.string(2, 'test-graph');
    spec.initializers.forEach((t) => graph.message(5, (w) => writeTensor(w, t)));
    spec.inputs.forEach((v) => graph.message(11, (w) => writeValueInfo(w, v)));
    spec.outputs.forEach((v) => graph.message(12, (w) => writeValueInfo(w, v)));
  });
  model.message(8, (w) => w.string(1, '').int(2, spec.opset ?? 17));
  return model.finish();
}

function writeNode(w: ProtoWriter, node: NodeSpec, index: number): void {
  node.inputs.forEach((name) => w.string(1, name));
  node.outputs.forEach((name) => w.string(2, name));
  w.string(3, `${node.op.toLowerCase()}_${index}`);
  w.string(4, node.op);
  for (const [name, value] of Object.entries(node.attributes ?? {})) {
    w.message(5, (a) => {
      a.string(1, name);
      if (Array.isArray(value)) {
        value.forEach((v) => a.int(8, v));
        a.int(20, 7); // INTS
      } else {
        a.int(3, value);
        a.int(20, 2); // INT
      }
    });
  }
}

function writeTensor(w: ProtoWriter, tensor: Initializer): void {
  tensor.dims.forEach((d) => w.int(1, d));
  w.int(2, ELEM_TYPE[tensor.type]);
  w.string(8, tensor.name);
  const raw =
    tensor.type === 'float32' ? new Float32Array(tensor.values) : BigInt64Array.from(tensor.values.map(BigInt));
  w.bytes(9, new Uint8Array(raw.buffer));
}

function writeValueInfo(w: ProtoWriter, value: ValueInfo): void {
  w.string(1, value.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, ELEM_TYPE[value.type]);
      tensor.message(2, (shape) => {
        for (const dim of value.shape)
          shape.message(1, (d) => (typeof dim === 'number' ? d.int(1, dim) : d.string(2, dim)));
      });
    }),
  );
}

/**
 * Known-answer network for intensity bands: logits[c] = steepness * (halfWidth[c] - |image -
 * centre[c]|), so concept row c is the voxels whose normalised intensity is within halfWidth[c] of
 * centre[c]; presence is the patch's largest logit.
 */
export function bandNetwork(centre: number[], halfWidth: number[], steepness = 20): Uint8Array {
  return buildOnnxModel({
    inputs: [
      { name: 'image', type: 'float32', shape: ['batch', 1, 'z', 'y', 'x'] },
      { name: 'concept_ids', type: 'int64', shape: ['queries'] },
    ],
    outputs: [
      { name: 'logits', type: 'float32', shape: ['batch', 'queries', 'z', 'y', 'x'] },
      { name: 'presence', type: 'float32', shape: ['batch', 'queries'] },
    ],
    initializers: [
      { name: 'centre', type: 'float32', dims: [centre.length], values: centre },
      { name: 'half_width', type: 'float32', dims: [halfWidth.length], values: halfWidth },
      { name: 'steepness', type: 'float32', dims: [], values: [steepness] },
      { name: 'query_shape', type: 'int64', dims: [5], values: [1, -1, 1, 1, 1] },
    ],
    nodes: [
      { op: 'Gather', inputs: ['centre', 'concept_ids'], outputs: ['c'], attributes: { axis: 0 } },
      { op: 'Gather', inputs: ['half_width', 'concept_ids'], outputs: ['w'], attributes: { axis: 0 } },
      { op: 'Reshape', inputs: ['c', 'query_shape'], outputs: ['c5'] },
      { op: 'Reshape', inputs: ['w', 'query_shape'], outputs: ['w5'] },
      { op: 'Sub', inputs: ['image', 'c5'], outputs: ['d'] },
      { op: 'Abs', inputs: ['d'], outputs: ['a'] },
      { op: 'Sub', inputs: ['w5', 'a'], outputs: ['margin'] },
      { op: 'Mul', inputs: ['margin', 'steepness'], outputs: ['logits'] },
      { op: 'ReduceMax', inputs: ['logits'], outputs: ['presence'], attributes: { axes: [2, 3, 4], keepdims: 0 } },
    ],
  });
}

import assert from 'node:assert/strict';
import { statSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CATEGORIES, VOCABULARY_PATH, loadDatasetLabels, loadVocabulary } from '../../src/vocab/index.js';

const vocab = loadVocabulary();

describe('vocabulary data', () => {
  it('loads once and is small', () => {
    assert.equal(loadVocabulary(), vocab);
    assert.ok(vocab.size > 700, `${vocab.size} concepts`);
    assert.ok(statSync(VOCABULARY_PATH).size < 2_000_000);
  });

  it('knows which unsided structures occur on both sides', () => {
    for (const id of ['kidney', 'hippocampus', 'hippocampus_anterior', 'hippocampus_posterior'])
      assert.equal(vocab.occursOnBothSides(id), true, id);
    for (const id of ['kidney_left', 'hippocampus_right', 'liver', 'brainstem', 'heart_ventricle_right'])
      assert.equal(vocab.occursOnBothSides(id), false, id);
  });

  it('uses lowercase snake_case ids and known categories', () => {
    for (const concept of vocab.concepts) {
      assert.match(concept.id, /^[a-z0-9]+(_[a-z0-9]+)*$/);
      assert.ok(CATEGORIES.includes(concept.category), concept.id);
    }
  });

  it('covers the structures the issue names', () => {
    const required = [
      'liver',
      'spleen',
      'kidney',
      'kidney_left',
      'kidney_right',
      'lung',
      'heart',
      'heart_myocardium',
      'heart_atrium_left',
      'heart_atrium_right',
      'heart_ventricle_left',
      'heart_ventricle_right',
      'left_ventricle_myocardium',
      'brain_tumor',
      'brain_tumor_core',
      'brain_tumor_necrosis',
      'brain_tumor_edema',
      'brain_tumor_enhancing',
      'brain_tumor_non_enhancing',
      'hippocampus',
      'hippocampus_anterior',
      'hippocampus_posterior',
      'spinal_cord',
      'spinal_cord_gray_matter',
      'prostate_peripheral_zone',
      'prostate_transition_zone',
      'lesion',
      'liver_lesion',
      'kidney_lesion',
      'vertebra_c1',
      'vertebra_l3',
      'vertebra_t12',
      'vertebra_s1',
      'inferior_vena_cava',
    ];
    for (const id of required) assert.ok(vocab.get(id), id);
  });

  it('links the parts the issue lists', () => {
    const parts = (id: string) =>
      vocab
        .partsOf(id)
        .map((c) => c.id)
        .sort();
    assert.deepEqual(parts('kidney'), ['kidney_left', 'kidney_right']);
    assert.deepEqual(
      parts('hippocampus').filter((id) => id.startsWith('hippocampus_a') || id.startsWith('hippocampus_p')),
      ['hippocampus_anterior', 'hippocampus_posterior'],
    );
    const heart = parts('heart');
    for (const id of ['heart_atrium', 'heart_ventricle', 'heart_myocardium']) assert.ok(heart.includes(id), id);
    const lungLobes = vocab
      .descendants('lung')
      .filter((c) => /^lung_(upper|middle|lower)_lobe_(left|right)$/.test(c.id));
    assert.equal(lungLobes.length, 5);
    assert.ok(parts('brain_tumor_core').includes('brain_tumor_enhancing'));
    const vertebrae = vocab.descendants('vertebral_column').filter((c) => /^vertebra_[ctls]\d+$/.test(c.id));
    assert.ok(vertebrae.length >= 25, `${vertebrae.length} vertebrae`);
  });

  it('gives sided concepts their unsided parent and a DICOM laterality modifier', () => {
    const left = vocab.require('kidney_left');
    assert.equal(left.unsided, 'kidney');
    assert.equal(left.laterality, 'left');
    assert.equal(left.dicom?.typeModifier?.code, '7771000');
    assert.deepEqual(vocab.require('kidney').sided, { left: 'kidney_left', right: 'kidney_right' });
  });

  it('carries SNOMED codes, DICOM categories and colours', () => {
    assert.equal(vocab.require('liver').snomed?.code, '10200004');
    assert.equal(vocab.require('liver').dicom?.category.code, '123037004');
    assert.equal(vocab.require('liver_lesion').dicom?.category.code, '49755003');
    assert.equal(vocab.require('liver_lesion').dicom?.anatomicRegion?.code, '10200004');
    const withSnomed = vocab.concepts.filter((c) => c.snomed).length;
    assert.ok(withSnomed / vocab.size > 0.6, `${withSnomed} of ${vocab.size} have SNOMED codes`);
  });

  it('searches and lists', () => {
    assert.equal(vocab.search('liver')[0].id, 'liver');
    assert.ok(vocab.search('carotid').some((c) => c.id === 'internal_carotid_artery'));
    const lesions = vocab.list({ category: 'lesion' });
    assert.ok(lesions.length > 20 && lesions.every((c) => c.category === 'lesion'));
    assert.ok(vocab.list({ modality: 'MR' }).every((c) => c.modalities.includes('MR')));
  });

  it('fails clearly on a missing or corrupt data file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'medparse-vocab-'));
    assert.throws(() => loadVocabulary(join(dir, 'absent.json')), /cannot read the vocabulary/);
    writeFileSync(join(dir, 'bad.json'), '{"version":1,"concepts":[{"id":"Bad Id"}],"ambiguousTerms":[]}');
    assert.throws(() => loadVocabulary(join(dir, 'bad.json')), /bad concept id/);
    writeFileSync(join(dir, 'broken.json'), '{');
    assert.throws(() => loadVocabulary(join(dir, 'broken.json')), /not valid JSON/);
  });
});

describe('dataset label map', () => {
  const map = loadDatasetLabels();

  it('maps every label of every dataset to a concept or marks it background', () => {
    for (const [dataset, entry] of Object.entries(map.datasets)) {
      for (const [value, label] of Object.entries(entry.labels)) {
        if (label.relation === 'background') assert.equal(label.concept, null);
        else
          assert.ok(label.concept && vocab.get(label.concept), `${dataset} ${value} ${label.name} -> ${label.concept}`);
      }
    }
  });

  it('maps the training sets the right way', () => {
    const concept = (dataset: string, value: string) => map.datasets[dataset]?.labels[value]?.concept;
    assert.equal(concept('acdc', '1'), 'heart_ventricle_right');
    assert.equal(concept('acdc', '2'), 'left_ventricle_myocardium');
    assert.equal(concept('acdc', '3'), 'heart_ventricle_left');
    assert.equal(concept('brats2015', '1'), 'brain_tumor_necrosis');
    assert.equal(concept('brats2015', '2'), 'brain_tumor_edema');
    assert.equal(concept('brats2015', '3'), 'brain_tumor_non_enhancing');
    assert.equal(concept('brats2015', '4'), 'brain_tumor_enhancing');
    assert.equal(concept('msd_task04_hippocampus', '1'), 'hippocampus_anterior');
    assert.equal(concept('msd_task04_hippocampus', '2'), 'hippocampus_posterior');
    assert.equal(concept('totalsegmentator_total', '2'), 'kidney_right');
    assert.equal(concept('freesurfer_aseg', '17'), 'hippocampus_left');
    assert.equal(concept('kits23', '3'), 'kidney_cyst');
    assert.equal(concept('openkbp_oars', '3'), 'parotid_gland_right');
    assert.equal(concept('msd_task05_prostate_labels_only', '1'), 'prostate_peripheral_zone');
  });
});

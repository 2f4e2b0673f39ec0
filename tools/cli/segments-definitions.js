'use strict';
// Reading segment definition files (JSON, YAML) for `mosaic segments apply` (segments-lib.js).

const { isObject } = require('./segments-json.js');

const DEFINITION_FILE = /\.(json|ya?ml)$/i;

/** Whether a file name is read by `segments apply` (`*.json`, `*.yaml`, `*.yml`). */
function isDefinitionFile(name) {
  return DEFINITION_FILE.test(name);
}

function describeValue(v) {
  if (v === null || v === undefined) return 'empty';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * The YAML `loadAll` of js-yaml with the core schema (YAML 1.2: no timestamps, so a date
 * stays the string it is in JSON) and the file name in error messages.
 */
function yamlLoader(jsYaml) {
  return (text, file) => jsYaml.loadAll(text, undefined, { schema: jsYaml.CORE_SCHEMA, filename: file });
}

/**
 * The definitions of one file: a JSON file holds a definition or an array of them; a YAML
 * file the same, in one or more documents (empty documents are skipped). Each entry is named
 * by `where`: `a.json`, `a.json[2]`, `a.yaml (document 2)`, `a.yaml (document 2)[0]`.
 * The definition is what JSON makes of it (what the server is sent and stores).
 */
function parseDefinitionFile(file, text, loadYamlAll) {
  const entries = [];
  const errors = [];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let docs;
  if (/\.json$/i.test(file)) {
    try {
      docs = [JSON.parse(body)];
    } catch (err) {
      errors.push({ file, message: `not valid JSON: ${err.message}` });
      return { entries, errors };
    }
  } else if (/\.ya?ml$/i.test(file)) {
    if (!loadYamlAll) throw new Error('parseDefinitionFile: a YAML loader is needed for YAML files');
    try {
      docs = loadYamlAll(body, file);
    } catch (err) {
      errors.push({ file, message: `not valid YAML: ${err.message}` });
      return { entries, errors };
    }
  } else {
    errors.push({ file, message: 'not a definition file (.json, .yaml or .yml)' });
    return { entries, errors };
  }
  const nonEmpty = docs.map((value, i) => ({ value, doc: i + 1 })).filter((d) => d.value !== null && d.value !== undefined);
  if (nonEmpty.length === 0) {
    errors.push({ file, message: 'holds no segment definition' });
    return { entries, errors };
  }
  for (const { value, doc } of nonEmpty) {
    const base = docs.length > 1 ? `${file} (document ${doc})` : file;
    const items = Array.isArray(value) ? value.map((v, i) => ({ v, where: `${base}[${i}]` })) : [{ v: value, where: base }];
    for (const { v, where } of items) {
      if (!isObject(v)) {
        errors.push({ file: where, path: '$', message: `a segment definition must be an object, not ${describeValue(v)}` });
        continue;
      }
      if (typeof v.key !== 'string' || v.key === '') {
        errors.push({ file: where, path: 'key', message: v.key === undefined ? 'is required' : `must be a non-empty string, not ${describeValue(v.key)}` });
        continue;
      }
      entries.push({ key: v.key, file, where, definition: JSON.parse(JSON.stringify(v)) });
    }
  }
  return { entries, errors };
}

/**
 * Every definition of a directory's files (`[{name, text}]`, read in name order). A key
 * defined twice is an error naming both places (the first one is kept).
 */
function collectDefinitions(files, loadYamlAll) {
  const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const entries = [];
  const errors = [];
  const seen = new Map();
  for (const f of sorted) {
    const parsed = parseDefinitionFile(f.name, f.text, loadYamlAll);
    errors.push(...parsed.errors);
    for (const e of parsed.entries) {
      const first = seen.get(e.key);
      if (first) {
        errors.push({ file: e.where, key: e.key, path: 'key', message: `duplicate key ${e.key}: defined in ${first.where} and in ${e.where}` });
        continue;
      }
      seen.set(e.key, e);
      entries.push(e);
    }
  }
  return { entries, errors };
}

module.exports = { isDefinitionFile, yamlLoader, parseDefinitionFile, collectDefinitions };

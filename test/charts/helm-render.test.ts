import { describe, it, expect } from 'vitest';
import { formatGoNumber, mergeValues, renderString, splitManifests, toYaml } from '../support/helm-render.js';

const data = {
  Values: {
    name: 'db',
    port: 9090,
    big: 1000000,
    empty: '',
    list: ['a', 'b'],
    map: { z: 1, a: { b: 'c' } },
    flag: false,
    none: [],
  },
  Release: { Name: 'rel', Namespace: 'ns' },
};

describe('Go template subset renderer', () => {
  it('trims whitespace around {{- and -}} like text/template', () => {
    expect(renderString('a  \n  {{- .Values.name -}}  \n b', data)).toBe('adbb');
    expect(renderString('x {{/* comment */}} y', data)).toBe('x  y');
    expect(renderString('x\n{{- /* comment */ -}}\ny', data)).toBe('xy');
  });

  it('prints values as Go does: float64 numbers, missing keys empty, field of nil an error', () => {
    expect(renderString('{{ .Values.port }} {{ .Values.big }} {{ .Values.missing }}|', data)).toBe(
      '9090 1e+06 |',
    );
    expect(() => renderString('{{ .Values.missing.key }}', data)).toThrow(
      /nil pointer evaluating interface \{\}.key/,
    );
    expect(formatGoNumber(0.5)).toBe('0.5');
    expect(formatGoNumber(123456)).toBe('123456');
    expect(formatGoNumber(1234567)).toBe('1.234567e+06');
  });

  it('evaluates if/else if/else, with, range over lists and sorted maps, variables', () => {
    const t =
      '{{ if .Values.flag }}F{{ else if .Values.empty }}E{{ else }}N{{ end }}' +
      '{{ with .Values.name }}[{{ . }}/{{ $.Release.Name }}]{{ end }}' +
      '{{ range $i, $v := .Values.list }}{{ $i }}={{ $v }};{{ end }}' +
      '{{ range $k, $v := .Values.map }}{{ $k }},{{ end }}' +
      '{{ $x := "a" }}{{ if true }}{{ $x = "b" }}{{ end }}{{ $x }}' +
      '{{ range .Values.none }}never{{ else }}none{{ end }}{{ range .Values.missing }}never{{ else }}!{{ end }}';
    expect(renderString(t, data)).toBe('N[db/rel]0=a;1=b;a,z,bnone!');
  });

  it('calls the sprig functions of the subset', () => {
    expect(
      renderString(
        '{{ .Values.name | quote }} {{ default "x" .Values.empty }} {{ "abc-" | trimSuffix "-" }}',
        data,
      ),
    ).toBe('"db" x abc');
    expect(
      renderString(
        '{{ printf "%s-%d-%v-%q" "a" 3 true "q" }} {{ trunc 3 "abcdef" }} {{ trunc -2 "abcdef" }}',
        data,
      ),
    ).toBe('a-3-true-"q" abc ef');
    expect(renderString('x:{{ toYaml .Values.map | nindent 2 }}', data)).toBe('x:\n  a:\n    b: c\n  z: 1');
    expect(renderString('{{ toYaml .Values.list | indent 2 }}', data)).toBe('  - a\n  - b');
    expect(
      renderString(
        '{{ and .Values.name .Values.empty | quote }}{{ or .Values.empty "y" }}{{ not .Values.flag }}',
        data,
      ),
    ).toBe('""ytrue');
    expect(renderString('{{ eq .Values.name "db" "x" }} {{ ne .Values.port 9090.0 }}', data)).toBe(
      'true false',
    );
    expect(() => renderString('{{ eq .Values.name 1 }}', data)).toThrow(/incompatible types/);
    expect(() => renderString('{{ required "name it" .Values.empty }}', data)).toThrow(/name it/);
    expect(() => renderString('{{ sha256sum "x" }}', data)).toThrow(/outside the supported subset/);
  });

  it('includes defined templates with their own dot and $', () => {
    const partials = '{{- define "p" -}}{{ .a }}/{{ $.a }}{{- end }}';
    expect(
      renderString('{{ include "p" .Values.map.a }}', { Values: { map: { a: { a: 'q' } } } }, partials),
    ).toBe('q/q');
    expect(
      renderString('<{{ template "p" .Values.map.a }}>', { Values: { map: { a: { a: 'r' } } } }, partials),
    ).toBe('<r/r>');
    expect(
      renderString(
        '{{ (include "p" .Values.map.a) | quote }}',
        { Values: { map: { a: { a: 's' } } } },
        partials,
      ),
    ).toBe('"s/s"');
  });

  it('keeps Prometheus templates written as raw strings', () => {
    expect(renderString('{{`{{ $labels.site }}`}}', data)).toBe('{{ $labels.site }}');
  });

  it('merges values like helm, and splits manifests on ---', () => {
    expect(mergeValues({ a: { b: 1, c: 2 }, d: 1 }, { a: { b: 3 }, d: null })).toEqual({ a: { b: 3, c: 2 } });
    expect(splitManifests('a: 1\n---\n# only a comment\n---\nb: 2\n')).toEqual(['a: 1', 'b: 2']);
    expect(toYaml({ b: [1], a: 'yes' })).toBe('a: "yes"\nb:\n- 1');
  });
});

describe('renderer refusals', () => {
  it('refuses to range over a string, as text/template does', () => {
    expect(() => renderString('{{ range .Values.s }}x{{ end }}', { Values: { s: 'abc' } })).toThrow(
      /can't iterate/,
    );
  });
});

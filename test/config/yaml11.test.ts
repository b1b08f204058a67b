// deploy.yml is read as whiskey_disk read it: Ruby's Psych, YAML 1.1. The
// table below is what `YAML.unsafe_load("k: #{input}")['k']` gave in Ruby
// 3.1.2 / Psych 4.0.3 (TZ=UTC), as its class and its to_s — the text
// whiskey_disk put into a command. wd must give the same text, and the same
// kind of value (a Symbol, Date or Time becomes its text: whiskey_disk never
// used them otherwise).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RubyFloat, loadYaml, psychScalar, rubyFloatString, rubyString } from '../../src/yaml11.js';

const PSYCH: Array<[string, string, string]> = [
  ['', 'NilClass', ''],
  ['~', 'NilClass', ''],
  ['null', 'NilClass', ''],
  ['Null', 'NilClass', ''],
  ['NULL', 'NilClass', ''],
  ['nUll', 'NilClass', ''],
  ['nil', 'String', 'nil'],
  ['yes', 'TrueClass', 'true'],
  ['Yes', 'TrueClass', 'true'],
  ['YES', 'TrueClass', 'true'],
  ['yEs', 'TrueClass', 'true'],
  ['no', 'FalseClass', 'false'],
  ['No', 'FalseClass', 'false'],
  ['NO', 'FalseClass', 'false'],
  ['true', 'TrueClass', 'true'],
  ['True', 'TrueClass', 'true'],
  ['TRUE', 'TrueClass', 'true'],
  ['tRUE', 'TrueClass', 'true'],
  ['false', 'FalseClass', 'false'],
  ['False', 'FalseClass', 'false'],
  ['FALSE', 'FalseClass', 'false'],
  ['on', 'TrueClass', 'true'],
  ['On', 'TrueClass', 'true'],
  ['ON', 'TrueClass', 'true'],
  ['off', 'FalseClass', 'false'],
  ['Off', 'FalseClass', 'false'],
  ['OFF', 'FalseClass', 'false'],
  ['y', 'String', 'y'],
  ['Y', 'String', 'Y'],
  ['n', 'String', 'n'],
  ['N', 'String', 'N'],
  ['0', 'Integer', '0'],
  ['1', 'Integer', '1'],
  ['-1', 'Integer', '-1'],
  ['+1', 'Integer', '1'],
  ['0022', 'Integer', '18'],
  ['-0022', 'Integer', '-18'],
  ['0o22', 'String', '0o22'],
  ['0x1F', 'Integer', '31'],
  ['0x1f', 'Integer', '31'],
  ['0X1F', 'String', '0X1F'],
  ['0x_1F', 'Integer', '31'],
  ['0b1010', 'Integer', '10'],
  ['-0b101', 'Integer', '-5'],
  ['1_000', 'Integer', '1000'],
  ['1,000', 'Integer', '1000'],
  ['1__0', 'String', '1__0'],
  ['08', 'String', '08'],
  ['09', 'String', '09'],
  ['010', 'Integer', '8'],
  ['0_7', 'Integer', '7'],
  ['12345678901234567890', 'Integer', '12345678901234567890'],
  ['-0', 'Integer', '0'],
  ['1:30', 'Integer', '5400'],
  ['-1:30', 'Integer', '-1800'],
  ['190:20:30', 'Integer', '685230'],
  ['1:60', 'String', '1:60'],
  ['1:30.5', 'Float', '5430.0'],
  ['1.0', 'Float', '1.0'],
  ['1.5', 'Float', '1.5'],
  ['.5', 'Float', '0.5'],
  ['-.5', 'Float', '-0.5'],
  ['1.', 'Float', '1.0'],
  ['-1.', 'Float', '-1.0'],
  ['1.10', 'Float', '1.1'],
  ['0.1', 'Float', '0.1'],
  ['1e3', 'String', '1e3'],
  ['1.0e+3', 'Float', '1000.0'],
  ['1.0e3', 'String', '1.0e3'],
  ['6.8523015e+5', 'Float', '685230.15'],
  ['685.230_15e+03', 'String', '685.230_15e+03'],
  ['685_230.15', 'Float', '685230.15'],
  ['1,000.5', 'Float', '1000.5'],
  ['.inf', 'Float', 'Infinity'],
  ['-.inf', 'Float', '-Infinity'],
  ['+.inf', 'Float', 'Infinity'],
  ['.Inf', 'Float', 'Infinity'],
  ['.NaN', 'Float', 'NaN'],
  ['.nan', 'Float', 'NaN'],
  ['100000000000000000.0', 'Float', '1.0e+17'],
  ['10000000000000000.0', 'Float', '1.0e+16'],
  ['1000000000000000.0', 'Float', '1.0e+15'],
  ['0.0001', 'Float', '0.0001'],
  ['0.00001', 'Float', '1.0e-05'],
  ['123456789012345.6', 'Float', '123456789012345.6'],
  ['1234567890123456.7', 'Float', '1234567890123456.8'],
  ['2024-01-05', 'Date', '2024-01-05'],
  ['2024-1-5', 'Date', '2024-01-05'],
  ['2024-13-01', 'String', '2024-13-01'],
  ['2023-02-30', 'String', '2023-02-30'],
  ['2001-12-14t21:59:43.10-05:00', 'Time', '2001-12-14 21:59:43 -0500'],
  ['2001-12-14 21:59:43.10 -5', 'Time', '2001-12-14 21:59:43 -0500'],
  ['2001-12-15T02:59:43.1Z', 'Time', '2001-12-15 02:59:43 UTC'],
  ['2001-12-14 21:59:43', 'Time', '2001-12-14 21:59:43 +0000'],
  [':staging', 'Symbol', 'staging'],
  [':"quoted sym"', 'Symbol', 'quoted sym'],
  [":'x'", 'Symbol', 'x'],
  ['::1', 'Symbol', ':1'],
  ['foo', 'String', 'foo'],
  ['-t', 'String', '-t'],
  ['-p 443', 'String', '-p 443'],
  ['1.2.3', 'String', '1.2.3'],
  ['0x', 'String', '0x'],
  ['0b', 'String', '0b'],
  ['+', 'String', '+'],
  ['.', 'String', '.'],
  ['1:2:3:4', 'String', '1:2:3:4'],
  ['ab:cd', 'String', 'ab:cd'],
  ['~foo', 'String', '~foo'],
  ['.5.5', 'String', '.5.5'],
  ['0.1.2', 'String', '0.1.2'],
  ['$HOME', 'String', '$HOME'],
  ['TRUE!', 'String', 'TRUE!'],
  ['onion', 'String', 'onion'],
  ['yes please', 'String', 'yes please'],
  ["'0022'", 'String', '0022'],
  ['"yes"', 'String', 'yes'],
];

function rubyClass(v: unknown): string {
  if (v === null || v === undefined) return 'NilClass';
  if (v === true) return 'TrueClass';
  if (v === false) return 'FalseClass';
  if (typeof v === 'number' || typeof v === 'bigint') return 'Integer';
  if (v instanceof RubyFloat) return 'Float';
  return 'String';
}

test('every YAML 1.1 scalar of the table reads as Psych read it', () => {
  const tz = process.env['TZ'];
  process.env['TZ'] = 'UTC'; // a timestamp without a zone is shown in the local one, by Ruby as by wd
  try {
    for (const [input, cls, text] of PSYCH) {
      const v = (loadYaml(`k: ${input}\n`, 'deploy.yml') as { k: unknown }).k;
      const want = cls === 'Symbol' || cls === 'Date' || cls === 'Time' ? 'String' : cls;
      assert.equal([rubyClass(v), rubyString(v)], [want, text], `k: ${input}`);
    }
  } finally {
    if (tz === undefined) delete process.env['TZ'];
    else process.env['TZ'] = tz;
  }
});

test('quoted and block scalars stay strings, as in Psych', () => {
  const d = loadYaml(`a: 'yes'\nb: "0022"\nc: |\n  on\nd: >\n  1.0\ne: !!str 0x1F\n`, 'x') as Record<string, unknown>;
  assert.equal(d, { a: 'yes', b: '0022', c: 'on\n', d: '1.0\n', e: '0x1F' });
});

test("Ruby's Float#to_s: fixed below 1e16 (or with a fraction), exponent otherwise", () => {
  const cases: Array<[number, string]> = [
    [1, '1.0'],
    [100, '100.0'],
    [0.1, '0.1'],
    [1e14, '100000000000000.0'],
    [1e15, '1.0e+15'],
    [1.5e15, '1.5e+15'],
    [1234567890123456, '1.234567890123456e+15'],
    [1234567890123456.8, '1234567890123456.8'],
    [1e16, '1.0e+16'],
    [0.0001, '0.0001'],
    [0.00012, '0.00012'],
    [1e-5, '1.0e-05'],
    [1.23e-5, '1.23e-05'],
    [1e100, '1.0e+100'],
    [-2.5, '-2.5'],
    [0, '0.0'],
    [9007199254740992, '9.007199254740992e+15'],
  ];
  for (const [x, s] of cases) assert.is(rubyFloatString(x), s, String(x));
});

test('keys are read the same way, so symbol keys lose their colon and yes: becomes "true"', () => {
  assert.equal(loadYaml(':staging:\n  :deploy_to: /x\nyes: 1\n0022: 2\n1.5: 3\n', 'x'), { staging: { deploy_to: '/x' }, true: 1, 18: 2, '1.5': 3 });
  assert.is(psychScalar(':"quoted sym"'), 'quoted sym');
});

test.run();

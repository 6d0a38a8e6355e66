import { parse } from 'csv-parse/sync';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
console.log(JSON.stringify(parse('a,b\n\nc,d\n , \n"x\ny",z\n', { skip_empty_lines: false, trim: true, relax_column_count: true, relax_quotes: true })));
console.log(JSON.stringify(parse('a,b\r\n\r\nc,d\r\n', { skip_empty_lines: false, trim: true, relax_column_count: true })));
for (const [s, c] of [['+44 (0) 7911 123456', undefined], ['(479) 555-0130', 'US'], ['011 44 7911 123456', 'US'], ['00 44 7911 123456', 'GB'], ['07911 123456', 'GB'], ['1 (479) 555-0130', 'US'], ['(604) 555-0131', 'CA'], ['+1 604 555 0131', undefined], ['+14795550130', undefined]] as const) {
  const p = parsePhoneNumberFromString(s, c as never);
  console.log(s, c, p?.number, p?.isValid(), p?.getType());
}

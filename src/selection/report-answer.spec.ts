import { success } from '../common/envelope';
import { REPORT_COUNTED, REPORT_NOT_COUNTED } from '../reporting/dto/report-result.dto';
import { ReportAnswerWriter } from './report-answer';

const T0 = 1_767_225_600_000;

describe('ReportAnswerWriter', () => {
  it.each([
    ['counted', REPORT_COUNTED],
    ['not counted', REPORT_NOT_COUNTED],
  ])('writes the %s answer as JSON.stringify does', (_name, data) => {
    const writer = new ReportAnswerWriter();
    for (const timestamp of [T0, T0, T0 + 1, 0, 7, Number.MAX_SAFE_INTEGER, T0 - 1]) {
      const envelope = success(data, timestamp);
      expect(writer.write(envelope)).toBe(JSON.stringify(envelope));
    }
  });

  it('writes each answer with its own timestamp when they alternate in one millisecond', () => {
    const writer = new ReportAnswerWriter();
    const answers = [REPORT_COUNTED, REPORT_NOT_COUNTED, REPORT_COUNTED].map((data, at) =>
      writer.write(success(data, T0 + Math.floor(at / 2))),
    );

    expect(answers.map((text) => JSON.parse(text ?? 'null') as unknown)).toEqual([
      success(REPORT_COUNTED, T0),
      success(REPORT_NOT_COUNTED, T0),
      success(REPORT_COUNTED, T0 + 1),
    ]);
  });

  it('leaves any other answer to the serializer', () => {
    const writer = new ReportAnswerWriter();

    expect(writer.write(success({ counted: true }, T0))).toBeUndefined();
    expect(writer.write({ ...success(REPORT_COUNTED, T0), message: 'ok' })).toBeUndefined();
    expect(writer.write({ code: 200, message: 'success', timestamp: T0 })).toBeUndefined();
  });
});

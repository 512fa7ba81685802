import { SUCCESS_MESSAGE, type SuccessEnvelope, success } from '../common/envelope';
import { REPORT_COUNTED, REPORT_NOT_COUNTED, type ReportAckDto } from '../reporting/dto/report-result.dto';
import { MillisecondText } from './select-answer';

/** An envelope's JSON up to its timestamp's value: `JSON.stringify` of it with timestamp 0, less `0}`. */
const headOf = (data: ReportAckDto): string => JSON.stringify(success(data, 0)).slice(0, -2);

const COUNTED_HEAD = headOf(REPORT_COUNTED);
const NOT_COUNTED_HEAD = headOf(REPORT_NOT_COUNTED);

/**
 * Writes report-result's 200 answer as JSON text, for the hot route to send as it is: one of two
 * fixed heads and the timestamp, where `JSON.stringify` of the envelope (writing a 13-digit number
 * each time) was ~3 % of a report's CPU. Only the two shared answers ({@link REPORT_COUNTED},
 * {@link REPORT_NOT_COUNTED}) in the envelope `success()` makes are written; any other answer is
 * undefined, and the route's serializer writes it.
 */
export class ReportAnswerWriter {
  private readonly timestamps = new MillisecondText();

  write(envelope: SuccessEnvelope<ReportAckDto>): string | undefined {
    const { data } = envelope;
    const head = data === REPORT_COUNTED ? COUNTED_HEAD : data === REPORT_NOT_COUNTED ? NOT_COUNTED_HEAD : undefined;
    if (head === undefined || envelope.code !== 200 || envelope.message !== SUCCESS_MESSAGE) return undefined;
    return head + this.timestamps.of(envelope.timestamp) + '}';
  }
}

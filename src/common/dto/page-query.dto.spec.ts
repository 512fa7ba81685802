import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { MAX_PAGE_OFFSET, PageQueryDto } from './page-query.dto';

const problems = (query: Readonly<Record<string, string | undefined>>) =>
  validateSync(plainToInstance(PageQueryDto, query)).map((error) => ({
    field: error.property,
    constraints: Object.keys(error.constraints ?? {}),
  }));

describe('PageQueryDto', () => {
  it('accepts pages up to an offset of 1,000,000 rows, whatever the size', () => {
    expect(problems({})).toEqual([]);
    expect(problems({ page: String(MAX_PAGE_OFFSET / 200 + 1), size: '200' })).toEqual([]);
    expect(problems({ page: String(MAX_PAGE_OFFSET / 20 + 1) })).toEqual([]);
  });

  it('refuses a page whose offset is beyond it, a huge one included', () => {
    for (const query of [
      { page: String(MAX_PAGE_OFFSET / 200 + 2), size: '200' },
      { page: String(MAX_PAGE_OFFSET / 20 + 2) },
      { page: '1e21' },
      { page: '9007199254740993' },
    ]) {
      expect(problems(query)).toEqual([{ field: 'page', constraints: ['withinMaxOffset'] }]);
    }
  });

  it('says how deep a page may go for the size asked', () => {
    const [error] = validateSync(plainToInstance(PageQueryDto, { page: '9999', size: '200' }));
    expect(error.constraints?.withinMaxOffset).toBe(
      'page must be at most 5001 with size 200 (no more than 1000000 rows skipped)',
    );
  });
});

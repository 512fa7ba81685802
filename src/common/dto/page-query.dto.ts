import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min, ValidateBy, type ValidationArguments } from 'class-validator';

/** Rows a listing may skip: past this, `page` is refused (a huge OFFSET is a 500 on MySQL, a scan on SQLite). */
export const MAX_PAGE_OFFSET = 1_000_000;

const MAX_PAGE_SIZE = 200;

/** The listing's size, defaulted as the DTO does (validation runs before defaults apply to absent fields). */
function sizeOf(args: ValidationArguments): number {
  const { size } = args.object as { size?: unknown };
  return typeof size === 'number' && Number.isInteger(size) && size >= 1 ? size : 20;
}

/** `page` such that `(page - 1) × size` stays within {@link MAX_PAGE_OFFSET}. */
const WithinMaxOffset = (): PropertyDecorator =>
  ValidateBy({
    name: 'withinMaxOffset',
    validator: {
      validate: (page: unknown, args) =>
        typeof page === 'number' && (page - 1) * sizeOf(args as ValidationArguments) <= MAX_PAGE_OFFSET,
      defaultMessage: (args) => {
        const size = sizeOf(args as ValidationArguments);
        return `page must be at most ${Math.floor(MAX_PAGE_OFFSET / size) + 1} with size ${size} (no more than ${MAX_PAGE_OFFSET} rows skipped)`;
      },
    },
  });

/** `?page=1&size=20` — 1-based pages of at most 200 items, no deeper than 1,000,000 rows. */
export class PageQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @WithinMaxOffset() page: number = 1;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(MAX_PAGE_SIZE) size: number = 20;
}

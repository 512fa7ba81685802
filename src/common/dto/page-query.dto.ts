import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';

/** `?page=1&size=20` — 1-based pages of at most 200 items. */
export class PageQueryDto {
  @IsOptional() @Type(() => Number) @IsInt() @Min(1) page: number = 1;

  @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(200) size: number = 20;
}

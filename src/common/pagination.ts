import type { PageQueryDto } from './dto/page-query.dto';

export { PageQueryDto } from './dto/page-query.dto';

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  size: number;
}

export function skipOf(query: PageQueryDto): number {
  return (query.page - 1) * query.size;
}

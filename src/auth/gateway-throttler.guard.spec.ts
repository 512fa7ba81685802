import { SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { RouteMetadataCache } from './gateway-throttler.guard';

class Routes {
  @SetMetadata('limit', 5)
  limited(): void {}

  open(): void {}
}
SetMetadata('limit', 100)(Routes);

describe('RouteMetadataCache', () => {
  it('answers per key and target as the Reflector does, reading each once', () => {
    const inner = new Reflector();
    const read = jest.spyOn(inner, 'get');
    const cache = new RouteMetadataCache(inner);
    const { limited, open } = Routes.prototype;
    for (let i = 0; i < 3; i++) {
      expect(cache.getAllAndOverride('limit', [limited, Routes])).toBe(5);
      expect(cache.getAllAndOverride('limit', [open, Routes])).toBe(100);
      expect(cache.getAllAndOverride('skip', [open, Routes])).toBeUndefined();
      expect(cache.get('limit', open)).toBeUndefined();
    }
    // limited, (open, Routes) for limit; (open, Routes) for skip: each pair read once.
    expect(read).toHaveBeenCalledTimes(5);
  });
});

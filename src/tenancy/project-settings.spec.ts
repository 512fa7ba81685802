import 'reflect-metadata';
import { checkSettingsLimits } from './project-settings';

describe('checkSettingsLimits', () => {
  const limits = { maxLeaseTtlMs: 900_000 };

  it('accepts settings without a lease TTL, or with one up to the bound', () => {
    expect(checkSettingsLimits(undefined, limits)).toEqual([]);
    expect(checkSettingsLimits({ quotas: {} }, limits)).toEqual([]);
    expect(checkSettingsLimits({ quotas: { leaseTtlMs: 900_000 } }, limits)).toEqual([]);
  });

  it('names the field under its path and the bound when the lease TTL is above it', () => {
    expect(checkSettingsLimits({ quotas: { leaseTtlMs: 900_001 } }, limits)).toEqual([
      {
        field: 'quotas.leaseTtlMs',
        message: 'quotas.leaseTtlMs must not be greater than 900000 (GATEWAY_MAX_LEASE_TTL_MS)',
      },
    ]);
    expect(checkSettingsLimits({ quotas: { leaseTtlMs: 3_600_000 } }, limits, 'settings')).toEqual([
      expect.objectContaining({ field: 'settings.quotas.leaseTtlMs' }),
    ]);
  });
});

import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { SettingEntity } from './entities/setting.entity';

@Injectable()
export class SettingsService {
  constructor(@InjectRepository(SettingEntity) private readonly settings: Repository<SettingEntity>) {}

  /**
   * The stored value, or `generate()` stored now. When two nodes start together, the one whose
   * insert loses reads the winner's value, so all of them end with the same one.
   */
  async getOrCreate(key: string, generate: () => string): Promise<string> {
    const existing = await this.settings.findOne({ where: { key } });
    if (existing) return existing.value;
    try {
      await this.settings.insert({ key, value: generate() });
    } catch (error) {
      const raced = await this.settings.findOne({ where: { key } });
      if (!raced) throw error;
    }
    return (await this.settings.findOneOrFail({ where: { key } })).value;
  }

  /** The stored value, or undefined when the setting does not exist. */
  async get(key: string): Promise<string | undefined> {
    return (await this.settings.findOne({ where: { key } }))?.value;
  }
}

import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { GatewayError } from '../common/gateway-error';
import { SELECTION_STRATEGY_METADATA, STRATEGY_NAME_PATTERN } from './selection-strategy.decorator';
import type { SelectionStrategyHandler } from './selection-strategy';

interface Registered {
  readonly handler: SelectionStrategyHandler;
  /** `StrategyClass (in SomeModule)`, for the duplicate message. */
  readonly origin: string;
}

/**
 * Every selection strategy of the application, by name: the providers marked with
 * `@SelectionStrategy(name)`, found at start-up with Nest's `DiscoveryService` (the hosting
 * module must import `DiscoveryModule`). Start-up fails on a duplicate name or a provider without
 * a `pick` method, so a broken plug-in is noticed at deploy time, not on the first request.
 * Request- and transient-scoped strategies are skipped with a warning: the hot path needs one
 * shared instance per strategy, and a per-request instance would be built on every select.
 *
 * @example
 * const strategy = registry.require(request.strategy ?? settings.defaultStrategy ?? 'smart');
 * const chosen = strategy.pick(candidates, context);
 */
@Injectable()
export class StrategyRegistry implements OnModuleInit {
  private readonly logger = new Logger(StrategyRegistry.name);
  private readonly strategies = new Map<string, Registered>();
  private sortedNames: readonly string[] = [];

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    this.strategies.clear();
    for (const wrapper of this.discovery.getProviders()) this.consider(wrapper);
    this.sortedNames = [...this.strategies.keys()].sort();
    this.logger.log(`Selection strategies: ${this.sortedNames.join(', ') || '(none)'}`);
  }

  /** The strategy registered under `name`, or undefined. */
  get(name: string): SelectionStrategyHandler | undefined {
    return this.strategies.get(name)?.handler;
  }

  /** The strategy registered under `name`; throws `UNKNOWN_STRATEGY` (listing the known names) if none. */
  require(name: string): SelectionStrategyHandler {
    const found = this.strategies.get(name);
    if (found) return found.handler;
    throw new GatewayError('UNKNOWN_STRATEGY', `Unknown selection strategy "${name}"`, {
      details: { strategy: name, available: this.names() },
    });
  }

  /** Registered names, sorted. A fresh array: callers may keep or change it. */
  names(): string[] {
    return [...this.sortedNames];
  }

  private consider(wrapper: InstanceWrapper): void {
    // An alias (`useExisting`) points at a provider that is discovered on its own.
    if (wrapper.isAlias) return;
    const name = strategyNameOf(wrapper);
    if (name === undefined) return;
    const origin = originOf(wrapper);
    if (!wrapper.isDependencyTreeStatic() || wrapper.isTransient) {
      this.logger.warn(
        `Skipping selection strategy "${name}" (${origin}): it is request- or transient-scoped, ` +
          'or depends on a request-scoped provider; strategies must be singletons',
      );
      return;
    }
    const instance: unknown = wrapper.instance;
    if (!hasPick(instance)) {
      throw new Error(`Selection strategy "${name}" (${origin}) has no pick(candidates, context) method`);
    }
    const existing = this.strategies.get(name);
    if (existing) {
      throw new Error(`Selection strategy "${name}" is declared twice: by ${existing.origin} and by ${origin}`);
    }
    this.strategies.set(name, { handler: instance, origin });
  }
}

/**
 * The name a provider was decorated with. Class providers carry it on their metatype; factory and
 * value providers only on the class of the instance they produced.
 */
function strategyNameOf(wrapper: InstanceWrapper): string | undefined {
  const instance: unknown = wrapper.instance;
  const target = wrapper.metatype && !wrapper.inject ? wrapper.metatype : constructorOf(instance);
  if (!target) return undefined;
  const name: unknown = Reflect.getMetadata(SELECTION_STRATEGY_METADATA, target);
  if (name === undefined) return undefined;
  // SetMetadata can be called by hand with the key; hold such names to the decorator's rule.
  if (typeof name !== 'string' || !STRATEGY_NAME_PATTERN.test(name)) {
    throw new Error(`Selection strategy name ${JSON.stringify(name)} (${originOf(wrapper)}) is not a valid name`);
  }
  return name;
}

function constructorOf(instance: unknown): object | undefined {
  if (typeof instance !== 'object' || instance === null) return undefined;
  const ctor: unknown = (instance as { constructor?: unknown }).constructor;
  return typeof ctor === 'function' ? ctor : undefined;
}

function hasPick(instance: unknown): instance is SelectionStrategyHandler {
  return (
    typeof instance === 'object' && instance !== null && typeof (instance as { pick?: unknown }).pick === 'function'
  );
}

function originOf(wrapper: InstanceWrapper): string {
  const provider = typeof wrapper.name === 'string' ? wrapper.name : String(wrapper.token);
  const module = wrapper.host?.name;
  return module ? `${provider} in ${module}` : provider;
}

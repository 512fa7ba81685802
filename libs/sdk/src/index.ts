export { createGatewayApi, type GatewayApi, type GatewayApiOptions } from './client';
export type { components, paths } from './generated/schema';

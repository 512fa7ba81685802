import { RouteTable } from './route-table';

describe('RouteTable', () => {
  it('lists the methods a path is served under, parameters included', () => {
    const routes = new RouteTable();
    routes.add('GET', '/api/instances/:id');
    routes.add(['GET', 'HEAD'], '/api/health');
    routes.add('DELETE', '/api/instances/:apiType/:businessId');
    routes.add('PUT', '/api/instances/:apiType/:businessId');
    expect(routes.allowedMethods('/api/instances/MODEL/gpt-4o')).toEqual(['DELETE', 'PUT']);
    expect(routes.allowedMethods('/api/health')).toEqual(['GET']);
    expect(routes.allowedMethods('/api/nothing')).toEqual([]);
  });

  it('ignores a route registered twice', () => {
    const routes = new RouteTable();
    routes.add('GET', '/a');
    routes.add('GET', '/a');
    expect(routes.allowedMethods('/a')).toEqual(['GET']);
  });
});

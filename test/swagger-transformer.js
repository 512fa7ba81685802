// Runs the @nestjs/swagger CLI plugin inside ts-jest, so tests see the same OpenAPI metadata
// as `nest build`. See https://docs.nestjs.com/openapi/cli-plugin#integration-with-ts-jest-e2e-tests
const transformer = require('@nestjs/swagger/plugin');

module.exports.name = 'nestjs-swagger-transformer';
// Bump when the options change, so ts-jest's cache is invalidated.
module.exports.version = 1;
module.exports.factory = (compiler) =>
  transformer.before(
    { introspectComments: true, classValidatorShim: true, dtoFileNameSuffix: ['.dto.ts'] },
    compiler.program,
  );

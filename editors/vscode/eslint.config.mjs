// ESLint flat config: the recommended rules plus typescript-eslint's type-aware recommended ones.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    { ignores: ['out/**', 'dist/**', 'node_modules/**', '*.vsix'] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
        files: ['src/**/*.ts'],
        languageOptions: {
            parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
        },
        rules: {
            '@typescript-eslint/no-floating-promises': 'error',
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
            eqeqeq: 'error',
            curly: 'error',
        },
    },
    {
        // node:test's describe/it/test return promises the test runner itself awaits
        files: ['src/test/**/*.ts'],
        rules: { '@typescript-eslint/no-floating-promises': 'off' },
    },
    {
        files: ['**/*.mjs'],
        ...tseslint.configs.disableTypeChecked,
    },
    {
        files: ['**/*.mjs'],
        languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    },
);
